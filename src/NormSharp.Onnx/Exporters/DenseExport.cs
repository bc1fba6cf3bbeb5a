using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Onnx.Graph;
using NormSharp.Tensors;

namespace NormSharp.Onnx.Exporters;

/// <summary>Dense layers: <c>Gemm</c> for [B, in] inputs, <c>MatMul</c> + <c>Add</c> for more leading dimensions.</summary>
internal static class DenseExport
{
    public static OnnxValue Linear(OnnxGraphBuilder g, Linear layer, string path, OnnxValue x) =>
        Dense(g, layer, path, layer.Weight.Value, layer.Bias?.Value, x);

    /// <summary>Weight normalization is a reparametrization: the graph holds the effective weight g·v/‖v‖, computed by NormSharp's own kernel.</summary>
    public static OnnxValue WeightNormLinear(OnnxGraphBuilder g, WeightNormLinear layer, string path, OnnxValue x)
    {
        Tensor weight;
        using (GradMode.NoGrad()) weight = F.WeightNorm(layer.WeightV, layer.WeightG).Value.Clone();
        return Dense(g, layer, path, weight, layer.Bias?.Value, x);
    }

    private static OnnxValue Dense(OnnxGraphBuilder g, Module layer, string path, Tensor weight, Tensor? bias, OnnxValue x)
    {
        int outFeatures = weight.Dim(0), inFeatures = weight.Dim(1);
        Shapes.RequireLast(layer, path, x, inFeatures, "input features");
        string y;
        if (x.Rank == 2)
        {
            y = g.Op("Gemm", [x.Name, g.Weight("weight", weight), bias is null ? null : g.Weight("bias", bias)], ("transB", 1));
        }
        else
        {
            y = g.MatMul(x.Name, g.Weight("weight_t", Shapes.Transpose(weight), inFeatures, outFeatures));
            if (bias is not null) y = g.Add(y, g.Weight("bias", bias));
        }
        return new OnnxValue(y, x.WithLast(outFeatures));
    }

    /// <summary>y = x·Wᵀ for a [rows, in] weight as <c>MatMul</c> with Wᵀ stored; returns the output name.</summary>
    public static string MatMulTransposed(OnnxGraphBuilder g, string x, string local, Tensor weight) =>
        g.MatMul(x, g.Weight(local, Shapes.Transpose(weight), weight.Dim(1), weight.Dim(0)));
}
