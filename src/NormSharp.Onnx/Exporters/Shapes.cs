using NormSharp.Layers;
using NormSharp.Onnx.Graph;
using NormSharp.Tensors;

namespace NormSharp.Onnx.Exporters;

/// <summary>Shape checks and weight layouts shared by the exporters.</summary>
internal static class Shapes
{
    /// <summary>Fails unless the last dimension of <paramref name="x"/> is <paramref name="size"/> (or decided at run time).</summary>
    public static void RequireLast(Module module, string path, OnnxValue x, int size, string what)
    {
        if (x.Rank == 0 || x.Dims[^1].Size is int actual && actual != size)
            throw OnnxExportException.For(path, module, $"expects {size} {what} in the last dimension, but its input has shape {x.ShapeText}.");
    }

    /// <summary>Fails unless <paramref name="x"/> has a rank in <paramref name="ranks"/>.</summary>
    public static void RequireRank(Module module, string path, OnnxValue x, string expected, params int[] ranks)
    {
        if (!ranks.Contains(x.Rank))
            throw OnnxExportException.For(path, module, $"expects input {expected}, but its input has shape {x.ShapeText}.");
    }

    /// <summary>Fails unless dimension <paramref name="axis"/> of <paramref name="x"/> is <paramref name="size"/> (or decided at run time).</summary>
    public static void RequireDim(Module module, string path, OnnxValue x, int axis, int size, string what)
    {
        if (x.Dims[axis].Size is int actual && actual != size)
            throw OnnxExportException.For(path, module, $"expects {size} {what} in dimension {axis}, but its input has shape {x.ShapeText}.");
    }

    /// <summary>The values of a [rows, cols] matrix transposed to [cols, rows].</summary>
    public static float[] Transpose(Tensor m)
    {
        int rows = m.Dim(0), cols = m.Dim(1);
        var src = m.Span;
        var t = new float[src.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = src[r * cols + c];
        return t;
    }
}
