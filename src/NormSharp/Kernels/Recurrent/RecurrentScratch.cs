using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// Pinned, 64-byte-aligned working memory of the recurrent kernels, one region per thread and purpose, that only
/// grows: a training loop repeating the same shapes allocates nothing after its first step. <see cref="Weights"/>
/// belongs to the thread that runs a sequence (its packed W_hh, read by every worker); <see cref="Chunk"/> to each
/// thread working on a chunk of the batch; <see cref="Partials"/> to the dispatching thread, for per-chunk sums that
/// are added in chunk order once every chunk is done.
/// </summary>
internal static unsafe class RecurrentScratch
{
    [ThreadStatic] private static float[]? _weights;
    [ThreadStatic] private static float[]? _inputWeights;
    [ThreadStatic] private static float[]? _chunk;
    [ThreadStatic] private static float[]? _partials;
    [ThreadStatic] private static float[]? _vectors;
    [ThreadStatic] private static double[]? _norms;

    /// <summary>Space for the packed recurrent weights of the sequence this thread runs.</summary>
    public static float* Weights(long floats) => Get(ref _weights, floats);

    /// <summary>Space for the packed input weights of the sequence this thread runs.</summary>
    public static float* InputWeights(long floats) => Get(ref _inputWeights, floats);

    /// <summary>Space for one chunk's temporaries on this thread.</summary>
    public static float* Chunk(long floats) => Get(ref _chunk, floats);

    /// <summary>Zeroed space for per-chunk partial sums, owned by the dispatching thread.</summary>
    public static float* Partials(long floats)
    {
        float* p = Get(ref _partials, floats);
        new Span<float>(p, checked((int)floats)).Clear();
        return p;
    }

    /// <summary>Space for a sequence's short per-gate vectors (combined shifts), on the thread that runs it.</summary>
    public static float* Vectors(long floats) => Get(ref _vectors, floats);

    /// <summary>Zeroed, pinned space for per-chunk, per-step hidden-state norm sums, owned by the dispatching thread.</summary>
    public static double* Norms(int count)
    {
        var buf = _norms;
        if (buf is null || buf.Length < count) _norms = buf = GC.AllocateArray<double>(Math.Max(count, 256), pinned: true);
        Array.Clear(buf, 0, count);
        return (double*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buf));
    }

    private static float* Get(ref float[]? buffer, long floats) => PinnedScratch.Aligned(ref buffer, floats, "Recurrent kernels");
}
