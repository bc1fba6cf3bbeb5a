using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Per-chunk partial sums of the row normalizations' parameter gradients (Σ dy·x̂ for the weight, Σ dy for the bias),
/// owned by the thread that dispatches the kernel; workers write only their chunk's regions. The row loops read and
/// write a chunk's regions once per row, so where they lie matters: each region starts at a chosen position within a
/// 64-byte line (aligned with the row pass that uses it, see <see cref="RowNormalization.PartialsPhase"/>) and at a
/// chosen distance within a 4 KiB page from dx's rows and from each other (<see cref="Placement"/>), with a vector's
/// room on either side. The chunks are added in chunk order.
/// </summary>
internal static unsafe class RowPartials
{
    /// <summary>Room on each side of a region: one vector of the widest width.</summary>
    private const int Margin = 16;

    private const int Page = 4096;

    [ThreadStatic] private static float[]? _buffer;

    /// <summary>
    /// Zeroed regions for <paramref name="chunks"/> chunks of <paramref name="cols"/> floats, weight partials then bias
    /// partials, each starting <paramref name="phase"/> floats into a 64-byte line and placed against <paramref name="dx"/>.
    /// </summary>
    public static Layout Zeroed(int chunks, int cols, int phase, float* dx)
    {
        // A region's stride is a whole number of pages, so that every chunk's regions keep the placement.
        long stride = ((long)(cols + 2 * Margin) * sizeof(float) + Page - 1) / Page * (Page / sizeof(float));
        long floats = 2L * chunks * stride + 2 * Page / sizeof(float);
        if (floats > Array.MaxLength)
            throw new OutOfMemoryException($"Normalization: parameter-gradient partials of {floats} floats exceed the largest array.");
        var b = _buffer;
        if (b is null || b.Length < floats)
            // Pinned, so that the placement found below holds for the buffer's lifetime.
            _buffer = b = GC.AllocateArray<float>((int)Math.Max(floats, 1024), pinned: true);
        var start = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(b));
        nuint line = ((nuint)dx & ~(nuint)63) + (nuint)(phase * sizeof(float));
        float* weight = Placement.At(start + Margin * sizeof(float), line + Placement.WeightPartial);
        float* bias = weight + chunks * stride + (Placement.BiasPartial - Placement.WeightPartial) / sizeof(float);
        for (int c = 0; c < chunks; c++)
        {
            new Span<float>(weight + c * stride - Margin, cols + 2 * Margin).Clear();
            new Span<float>(bias + c * stride - Margin, cols + 2 * Margin).Clear();
        }
        return new Layout(weight, bias, (int)stride);
    }

    /// <summary>
    /// Where the partials lie: chunk c's weight partial at <see cref="Weight"/> + c·<see cref="Stride"/>, its bias
    /// partial at <see cref="Bias"/> + c·<see cref="Stride"/>.
    /// </summary>
    public readonly struct Layout(float* weight, float* bias, int stride)
    {
        /// <summary>Chunk 0's weight partial.</summary>
        public float* Weight { get; } = weight;

        /// <summary>Chunk 0's bias partial.</summary>
        public float* Bias { get; } = bias;

        /// <summary>Floats from one chunk's region to the next.</summary>
        public int Stride { get; } = stride;

        /// <summary>Chunk <paramref name="chunk"/>'s weight partial.</summary>
        public float* WeightOf(int chunk) => Weight + (long)chunk * Stride;

        /// <summary>Chunk <paramref name="chunk"/>'s bias partial.</summary>
        public float* BiasOf(int chunk) => Bias + (long)chunk * Stride;
    }
}

/// <summary>
/// Distances within a 4 KiB page at which the row kernels place their own buffers (partials, copies of the
/// parameters) from the row stream they store. A load whose address matches an earlier, still pending store's in
/// the low 12 bits is held as if it read that store's data, so a buffer that is loaded just behind a stream that is
/// stored (or the reverse) makes every vector wait. Loads run at most about a kilobyte ahead of the stores they
/// could be confused with, so each buffer sits between 128 bytes and 3 KiB ahead (mod 4 KiB) of every stored
/// stream it can be placed against: the weight partial 768 bytes from dx, the bias partial 2 KiB beyond it, a
/// copied weight 1344 bytes from dx (forward: weight and bias copies 1 and 2 KiB from y).
/// </summary>
internal static unsafe class Placement
{
    public const int WeightPartial = 768;
    public const int BiasPartial = WeightPartial + 2048;
    public const int BackwardWeight = 1344;
    public const int ForwardWeight = 1024;
    public const int ForwardBias = 2048;

    /// <summary>Room a placed buffer of <paramref name="floats"/> floats needs: a page more.</summary>
    public static int Floats(int floats) => floats + 4096 / sizeof(float);

    /// <summary>The first address at or after <paramref name="from"/> that matches <paramref name="target"/> in its low 12 bits.</summary>
    public static float* At(nuint from, nuint target) => (float*)(from + ((target - from) & 4095));
}
