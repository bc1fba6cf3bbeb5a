namespace NormSharp.Onnx.Graph;

/// <summary>
/// The operators the exporters use, spelled once, including those whose form depends on the operator set
/// (<c>ReduceMean</c> takes its axes as an attribute before opset 18 and as an input from 18 on).
/// </summary>
internal static class OnnxOps
{
    public static string Add(this OnnxGraphBuilder g, string a, string b) => g.Op("Add", a, b);
    public static string Sub(this OnnxGraphBuilder g, string a, string b) => g.Op("Sub", a, b);
    public static string Mul(this OnnxGraphBuilder g, string a, string b) => g.Op("Mul", a, b);
    public static string Div(this OnnxGraphBuilder g, string a, string b) => g.Op("Div", a, b);
    public static string Sqrt(this OnnxGraphBuilder g, string x) => g.Op("Sqrt", x);
    public static string Sigmoid(this OnnxGraphBuilder g, string x) => g.Op("Sigmoid", x);
    public static string Tanh(this OnnxGraphBuilder g, string x) => g.Op("Tanh", x);
    public static string MatMul(this OnnxGraphBuilder g, string a, string b) => g.Op("MatMul", a, b);

    /// <summary>Mean over <paramref name="axes"/>, keeping them as size 1.</summary>
    public static string ReduceMean(this OnnxGraphBuilder g, string x, params long[] axes) =>
        g.Opset < 18
            ? g.Op("ReduceMean", [x], ("axes", axes), ("keepdims", 1))
            : g.Op("ReduceMean", [x, g.Int64s("axes", axes)], ("keepdims", 1));

    /// <summary>
    /// (x − mean) / sqrt(var + eps) over <paramref name="axes"/>, by the corrected two-pass algorithm: the data
    /// is centered with its float32 mean, then with the (tiny) mean of what remains, so neither the centering nor
    /// the variance cancels when the mean is large against the spread (ONNX Runtime's normalization operators
    /// keep float32 statistics that do).
    /// </summary>
    public static string Standardize(this OnnxGraphBuilder g, string x, long[] axes, float eps)
    {
        var centered = g.Center(g.Center(x, axes), axes);
        var variance = g.ReduceMean(g.Mul(centered, centered), axes);
        return g.Div(centered, g.Sqrt(g.Add(variance, g.Scalar("eps", eps))));
    }

    /// <summary>x − mean(x) over <paramref name="axes"/>.</summary>
    public static string Center(this OnnxGraphBuilder g, string x, long[] axes) => g.Sub(x, g.ReduceMean(x, axes));

    /// <summary>
    /// ONNX's <c>LayerNormalization</c> over the last <paramref name="dims"/> dimensions, its input centered first
    /// unless <see cref="OnnxExportOptions.CenterLayerNormInputs"/> is off.
    /// </summary>
    public static string LayerNormalization(this OnnxGraphBuilder g, string x, int dims, string scale, string? bias, float eps)
    {
        if (g.Options.CenterLayerNormInputs)
            x = g.Center(x, Enumerable.Range(0, dims).Select(i => (long)(i - dims)).ToArray());
        return g.Op("LayerNormalization", [x, scale, bias], ("axis", (long)-dims), ("epsilon", eps));
    }

    /// <summary>Reshape to <paramref name="shape"/> (0 copies the input's size at that position, −1 is inferred).</summary>
    public static string Reshape(this OnnxGraphBuilder g, string x, params long[] shape) => g.Op("Reshape", x, g.Int64s("shape", shape));

    public static string Transpose(this OnnxGraphBuilder g, string x, params long[] perm) => g.Op("Transpose", [x], ("perm", perm));

    public static string Squeeze(this OnnxGraphBuilder g, string x, params long[] axes) => g.Op("Squeeze", x, g.Int64s("axes", axes));

    public static string Unsqueeze(this OnnxGraphBuilder g, string x, params long[] axes) => g.Op("Unsqueeze", x, g.Int64s("axes", axes));

    public static string Concat(this OnnxGraphBuilder g, long axis, params string[] inputs) => g.Op("Concat", inputs, ("axis", axis));

    /// <summary>Splits <paramref name="x"/> along <paramref name="axis"/> into pieces of the given sizes (the split sizes as an input: valid from opset 13 on).</summary>
    public static string[] Split(this OnnxGraphBuilder g, string x, long axis, params long[] sizes) =>
        g.Node("Split", [x, g.Int64s("split", sizes)], sizes.Length, ("axis", axis));

    /// <summary>Element <paramref name="index"/> along <paramref name="axis"/>, that axis removed.</summary>
    public static string Take(this OnnxGraphBuilder g, string x, long index, long axis) =>
        g.Op("Gather", [x, g.Int64Scalar("index", index)], ("axis", axis));

    /// <summary>Selects positions <paramref name="indices"/> along <paramref name="axis"/> (a permutation of features).</summary>
    public static string Gather(this OnnxGraphBuilder g, string x, long[] indices, long axis) =>
        g.Op("Gather", [x, g.Int64s("indices", indices)], ("axis", axis));

    /// <summary>
    /// Zeros of shape [size of <paramref name="like"/> along <paramref name="axis"/>, <paramref name="width"/>]:
    /// a zero state whose batch size is only known when the model runs.
    /// </summary>
    public static string ZerosLike(this OnnxGraphBuilder g, string like, long axis, int width)
    {
        var shape = g.Op("Shape", like);
        var batch = g.Op("Gather", [shape, g.Int64s("batch_axis", axis)], ("axis", 0));
        var full = g.Concat(0, batch, g.Int64s("width", width));
        var zero = new global::Onnx.TensorProto { DataType = (int)global::Onnx.TensorProto.Types.DataType.Float };
        zero.Dims.Add(1);
        zero.FloatData.Add(0f);
        return g.Op("ConstantOfShape", [full], ("value", zero));
    }
}
