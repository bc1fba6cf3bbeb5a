using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Layers.Transformer;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// Multi-head attention and Transformer blocks, composed from standard operators: the packed projection as one
/// <c>MatMul</c>, <c>Split</c> into queries, keys and values, heads by <c>Reshape</c> and <c>Transpose</c>, scores by
/// <c>MatMul</c>, a causal mask built at run time with <c>Trilu</c> (so any sequence length runs), <c>Softmax</c>,
/// and the heads merged back before <c>out_proj</c>. Blocks add their residual connections and normalizations
/// (LayerNorm, RMSNorm or none) around it in Pre-LN or Post-LN order.
/// </summary>
internal static class TransformerExport
{
    public static OnnxValue EncoderLayer(OnnxGraphBuilder g, TransformerEncoderLayer layer, string path, OnnxValue x)
    {
        int d = layer.SelfAttn.EmbedDim;
        Shapes.RequireRank(layer, path, x, layer.SelfAttn.BatchFirst ? "[B, T, D]" : "[T, B, D]", 3);
        Shapes.RequireLast(layer, path, x, d, "features");
        OnnxValue Child(Module? child, OnnxValue v) => child is null ? v : ModuleExport.Export(g, child, ModuleExport.ChildPath(layer, path, child), v);
        OnnxValue Add(OnnxValue a, OnnxValue b) => a with { Name = g.Add(a.Name, b.Name) };
        OnnxValue Attend(OnnxValue v)
        {
            string childPath = ModuleExport.ChildPath(layer, path, layer.SelfAttn);
            using var _ = g.Enter(childPath);
            return MultiheadAttention(g, layer.SelfAttn, childPath, v, layer.IsCausal);
        }
        OnnxValue FeedForward(OnnxValue v)
        {
            var hidden = Child(layer.Linear1, v);
            hidden = hidden with { Name = Activation(g, layer.Activation, hidden.Name) };
            return Child(layer.Linear2, hidden);
        }
        if (layer.NormFirst)
        {
            var h = Add(x, Attend(Child(layer.Norm1, x)));
            return Add(h, FeedForward(Child(layer.Norm2, h)));
        }
        var a = Child(layer.Norm1, Add(x, Attend(x)));
        return Child(layer.Norm2, Add(a, FeedForward(a)));
    }

    /// <summary>Self-attention of <paramref name="x"/> ([B, T, D] or [T, B, D] as the layer reads it), inside the layer's scope.</summary>
    public static OnnxValue MultiheadAttention(OnnxGraphBuilder g, MultiheadAttention mha, string path, OnnxValue x, bool causal)
    {
        int d = mha.EmbedDim, heads = mha.NumHeads, dh = mha.HeadDim;
        Shapes.RequireRank(mha, path, x, mha.BatchFirst ? "[B, T, D]" : "[T, B, D]", 3);
        Shapes.RequireLast(mha, path, x, d, "features");
        string input = mha.BatchFirst ? x.Name : g.Transpose(x.Name, 1, 0, 2);
        string qkv = DenseExport.MatMulTransposed(g, input, "in_proj_weight_t", mha.InProjWeight.Value);
        if (mha.InProjBias is { } bias) qkv = g.Add(qkv, g.Weight("in_proj_bias", bias.Value));
        var parts = g.Split(qkv, 2, d, d, d);
        // [B, T, D] → [B, H, T, Dh]: each head's channels are consecutive.
        string Heads(string t) => g.Transpose(g.Reshape(t, 0, 0, heads, dh), 0, 2, 1, 3);
        string q = Heads(parts[0]), k = Heads(parts[1]), v = Heads(parts[2]);
        string scores = g.Mul(g.MatMul(q, g.Transpose(k, 0, 1, 3, 2)), g.Scalar("scale", 1f / MathF.Sqrt(dh)));
        if (causal)
        {
            // A [T, T] lower triangle of ones, of the length the model runs at; the positions above it get −∞.
            var square = g.Op("Slice", g.Op("Shape", scores), g.Int64s("square_start", 2), g.Int64s("square_end", 4));
            var one = new global::Onnx.TensorProto { DataType = (int)global::Onnx.TensorProto.Types.DataType.Float };
            one.Dims.Add(1);
            one.FloatData.Add(1f);
            var lower = g.Op("Trilu", [g.Op("ConstantOfShape", [square], ("value", one))], ("upper", 0L));
            var hidden = g.Op("Equal", lower, g.Scalar("zero", 0f));
            scores = g.Op("Where", hidden, g.Scalar("neg_inf", float.NegativeInfinity), scores);
        }
        string weights = g.Op("Softmax", [scores], ("axis", -1L));
        string merged = g.Reshape(g.Transpose(g.MatMul(weights, v), 0, 2, 1, 3), 0, 0, d);
        var output = ModuleExport.Export(g, mha.OutProj, ModuleExport.ChildPath(mha, path, mha.OutProj), new OnnxValue(merged, x.Dims));
        return mha.BatchFirst ? output : output with { Name = g.Transpose(output.Name, 1, 0, 2) };
    }

    private static string Activation(OnnxGraphBuilder g, F.Activation kind, string x) => kind switch
    {
        F.Activation.Relu => g.Op("Relu", x),
        F.Activation.Gelu => ActivationExport.Gelu(g, x),
        F.Activation.GeluTanh => ActivationExport.GeluTanh(g, x),
        F.Activation.Tanh => g.Tanh(x),
        F.Activation.Sigmoid => g.Sigmoid(x),
        F.Activation.Silu => g.Mul(x, g.Sigmoid(x)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation"),
    };
}
