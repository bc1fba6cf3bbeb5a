namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Per-chunk partial sums for the parameter gradients of row-wise normalizations, owned by the thread that
/// dispatches the kernel (workers write only their chunk's slice), grown once and then reused.
/// </summary>
internal static class RowScratch
{
    [ThreadStatic] private static float[]? _buffer;

    /// <summary>A zeroed buffer of at least <paramref name="length"/> floats.</summary>
    public static float[] Zeroed(int length)
    {
        var b = _buffer;
        if (b is null || b.Length < length) _buffer = b = new float[Math.Max(length, 1024)];
        Array.Clear(b, 0, length);
        return b;
    }
}
