namespace NormSharp.Kernels.Attention;

/// <summary>
/// Per-thread working space of the attention kernels: a few score-sized blocks and per-row statistics, sized by
/// the block sizes and the sequence length (never by T×T). Each thread keeps one pinned buffer that only grows,
/// so a training loop that repeats its shapes allocates nothing after the first step.
/// </summary>
internal static unsafe class AttentionScratch
{
    [ThreadStatic] private static float[]? _buffer;

    /// <summary>A region of at least <paramref name="floats"/> floats, 64-byte aligned, valid until this thread's next call.</summary>
    public static float* Get(long floats) => PinnedScratch.Aligned(ref _buffer, floats, "Attention");
}
