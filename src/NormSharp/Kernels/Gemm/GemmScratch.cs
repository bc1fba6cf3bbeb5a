namespace NormSharp.Kernels;

/// <summary>
/// Per-thread packing space for GEMM. Each thread (the caller and every pool worker) keeps one pinned buffer
/// that only grows, so a training loop that repeats the same shapes allocates nothing after its first step,
/// and threads never share packed panels, so there is nothing to synchronize.
/// </summary>
internal static unsafe class GemmScratch
{
    [ThreadStatic] private static float[]? _buffer;

    /// <summary>A 64-byte-aligned region of at least <paramref name="floats"/> floats, valid until this thread's next call.</summary>
    public static float* Get(long floats) => PinnedScratch.Aligned(ref _buffer, floats, "Gemm");
}
