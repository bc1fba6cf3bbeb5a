using NormSharp.Layers;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// The normalization layers: <c>LayerNormalization</c> (opset 17), <c>RMSNormalization</c> (from opset 23,
/// composed below it), <c>BatchNormalization</c> with the running statistics, and the statistics of group
/// normalization and of batch normalization without running statistics composed from reductions that do not
/// cancel at large means. ONNX's <c>GroupNormalization</c> (opset 21) is not used: ONNX Runtime 1.31's CPU
/// kernel, measured against float64 at spread 1.5, is off by 2.0e-5 at mean 10, 6.3e-2 at mean 1000 and 1.3e3
/// at mean 10,000, an error growing with the square of the mean as that of E[x²] − E[x]² in float32 does.
/// </summary>
internal static class NormalizationExport
{
    public static OnnxValue LayerNorm(OnnxGraphBuilder g, LayerNorm layer, string path, OnnxValue x)
    {
        var shape = layer.NormalizedShape.ToArray();
        RequireTrailing(layer, path, x, shape);
        // The operator needs a scale; a layer without affine has the neutral one.
        string scale = layer.Weight is { } w ? g.Weight("weight", w.Value) : g.Weight("weight", Ones(shape), shape);
        string? bias = layer.Bias is { } b ? g.Weight("bias", b.Value) : null;
        return x with { Name = g.LayerNormalization(x.Name, shape.Length, scale, bias, layer.Eps) };
    }

    public static OnnxValue RmsNorm(OnnxGraphBuilder g, RmsNorm layer, string path, OnnxValue x)
    {
        var shape = layer.NormalizedShape.ToArray();
        RequireTrailing(layer, path, x, shape);
        string y;
        if (g.Opset >= 23)
        {
            string scale = layer.Weight is { } w ? g.Weight("weight", w.Value) : g.Weight("weight", Ones(shape), shape);
            y = g.Op("RMSNormalization", [x.Name, scale], ("axis", (long)-shape.Length), ("epsilon", layer.Eps));
        }
        else
        {
            // x / sqrt(mean(x²) + eps) · w over the trailing dimensions.
            var axes = Enumerable.Range(0, shape.Length).Select(i => (long)(i - shape.Length)).ToArray();
            var meanSquare = g.ReduceMean(g.Mul(x.Name, x.Name), axes);
            y = g.Div(x.Name, g.Sqrt(g.Add(meanSquare, g.Scalar("eps", layer.Eps))));
            if (layer.Weight is { } w) y = g.Mul(y, g.Weight("weight", w.Value));
        }
        return x with { Name = y };
    }

    public static OnnxValue BatchNorm(OnnxGraphBuilder g, BatchNorm1d layer, string path, OnnxValue x)
    {
        Shapes.RequireRank(layer, path, x, "[N, C] or [N, C, L]", 2, 3);
        int c = layer.NumFeatures;
        Shapes.RequireDim(layer, path, x, 1, c, "channels");
        string y;
        if (layer.RunningMean is { } mean && layer.RunningVar is { } variance)
        {
            string scale = layer.Weight is { } w ? g.Weight("weight", w.Value) : g.Filled("weight", 1f, c);
            string shift = layer.Bias is { } b ? g.Weight("bias", b.Value) : g.Filled("bias", 0f, c);
            y = g.Op("BatchNormalization", [x.Name, scale, shift, g.Weight("running_mean", mean), g.Weight("running_var", variance)], ("epsilon", layer.Eps));
        }
        else
        {
            // Without running statistics PyTorch (and NormSharp) normalize with the batch's own, in evaluation too.
            y = g.Standardize(x.Name, x.Rank == 2 ? [0] : [0, 2], layer.Eps);
            int[] channelShape = x.Rank == 2 ? [c] : [c, 1];
            if (layer.Weight is { } w) y = g.Mul(y, g.Weight("weight", w.Value.Span, channelShape));
            if (layer.Bias is { } b) y = g.Add(y, g.Weight("bias", b.Value.Span, channelShape));
        }
        return x with { Name = y };
    }

    /// <summary>In evaluation SyncBatchNorm normalizes with its running statistics, exactly as a BatchNorm does.</summary>
    public static OnnxValue SyncBatchNorm(OnnxGraphBuilder g, SyncBatchNorm layer, string path, OnnxValue x)
    {
        Shapes.RequireRank(layer, path, x, "[N, C] or [N, C, L]", 2, 3);
        int c = layer.NumFeatures;
        Shapes.RequireDim(layer, path, x, 1, c, "channels");
        string scale = layer.Weight is { } w ? g.Weight("weight", w.Value) : g.Filled("weight", 1f, c);
        string shift = layer.Bias is { } b ? g.Weight("bias", b.Value) : g.Filled("bias", 0f, c);
        string y = g.Op("BatchNormalization", [x.Name, scale, shift, g.Weight("running_mean", layer.RunningMean), g.Weight("running_var", layer.RunningVar)], ("epsilon", layer.Eps));
        return x with { Name = y };
    }

    public static OnnxValue GroupNorm(OnnxGraphBuilder g, GroupNorm layer, string path, OnnxValue x)
    {
        if (x.Rank < 2) throw OnnxExportException.For(path, layer, $"expects input [N, C, ...], but its input has shape {x.ShapeText}.");
        int c = layer.NumChannels, groups = layer.NumGroups;
        Shapes.RequireDim(layer, path, x, 1, c, "channels");
        // Each group of channels (with their positions) is a row of [N, G, rest].
        var grouped = g.Standardize(g.Reshape(x.Name, 0, groups, -1), [2], layer.Eps);
        var y = g.Op("Reshape", grouped, g.Op("Shape", x.Name));
        var channelShape = new int[x.Rank - 1];
        Array.Fill(channelShape, 1);
        channelShape[0] = c;
        if (layer.Weight is { } w) y = g.Mul(y, g.Weight("weight", w.Value.Span, channelShape));
        if (layer.Bias is { } b) y = g.Add(y, g.Weight("bias", b.Value.Span, channelShape));
        return x with { Name = y };
    }

    private static void RequireTrailing(Module layer, string path, OnnxValue x, int[] shape)
    {
        bool fits = x.Rank >= shape.Length;
        for (int i = 0; fits && i < shape.Length; i++)
            fits = x.Dims[x.Rank - shape.Length + i].Size is not int d || d == shape[i];
        if (!fits)
            throw OnnxExportException.For(path, layer, $"normalizes trailing dimensions [{string.Join(", ", shape)}], but its input has shape {x.ShapeText}.");
    }

    private static float[] Ones(int[] shape)
    {
        var v = new float[shape.Aggregate(1, (a, d) => a * d)];
        Array.Fill(v, 1f);
        return v;
    }
}
