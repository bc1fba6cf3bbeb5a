namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Per-thread working memory for kernels (the calling thread and each pool worker have their own), grown once and
/// then reused, so a training loop that repeats its shapes allocates nothing after the first step.
/// </summary>
internal static unsafe class KernelScratch
{
    [ThreadStatic] private static double[]? _doubles;
    [ThreadStatic] private static float[]? _floats;
    [ThreadStatic] private static float[]? _aligned;

    /// <summary>At least <paramref name="length"/> doubles (contents undefined).</summary>
    public static double[] Doubles(int length)
    {
        var b = _doubles;
        if (b is null || b.Length < length) _doubles = b = new double[Math.Max(length, 256)];
        return b;
    }

    /// <summary>At least <paramref name="length"/> floats (contents undefined).</summary>
    public static float[] Floats(int length)
    {
        var b = _floats;
        if (b is null || b.Length < length) _floats = b = new float[Math.Max(length, 256)];
        return b;
    }

    /// <summary>
    /// At least <paramref name="length"/> floats starting on a 64-byte line, in a pinned buffer of this thread (contents
    /// undefined, valid until this thread's next call; distinct from <see cref="Floats"/>).
    /// </summary>
    public static float* Aligned(int length) => PinnedScratch.Aligned(ref _aligned, length, "Normalization kernels");
}
