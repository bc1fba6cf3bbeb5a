using System.Runtime.CompilerServices;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// What a reduction adds per element: up to three sums of terms read from the reduction's own streams.
/// <see cref="Add"/> adds the terms of the <c>TV.Count</c> elements starting at index i, lane by lane.
/// </summary>
internal unsafe interface ISumTerms<TSelf, TV>
    where TSelf : struct, ISumTerms<TSelf, TV>
    where TV : unmanaged, IFloatVector<TV>
{
    /// <summary>How many of the three sums are used (1 to 3); the rest stay zero.</summary>
    static abstract int Sums { get; }

    /// <summary>Adds the terms of elements [i, i + Count) to s0, s1 and s2, lane by lane.</summary>
    void Add(nint i, ref TV s0, ref TV s1, ref TV s2);

    /// <summary>
    /// The same terms over a copy of elements [start, start + count) padded to <see cref="LaneSums.Lanes"/> elements
    /// with values whose terms are zero. <paramref name="scratch"/> has room for three streams of
    /// <see cref="LaneSums.Lanes"/> floats; the result reads index start + j from position j of its copies.
    /// </summary>
    TSelf Padded(nint start, int count, float* scratch);
}

/// <summary>
/// Sums with an order fixed by the data, not by the vector width: element i always goes to lane i mod 32; each lane
/// accumulates in float over blocks of 1024 elements (32 terms a lane); at the end of a block the 32 lanes are folded
/// (upper half onto lower half, down to one) and the block's sum is added in double. A width of W lanes holds the
/// 32 lanes in 32/W accumulators, so 512-, 256-, 128-bit and scalar code perform the same additions in the same
/// order. The last, partial group of 32 elements is padded with zero terms and belongs to the last block.
/// </summary>
internal static unsafe class LaneSums
{
    /// <summary>Logical lanes every reduction accumulates in.</summary>
    public const int Lanes = 32;

    /// <summary>Elements per float block before the partial sums move to double.</summary>
    public const int BlockElements = 1024;

    /// <summary>Copies elements [start, start + count) of <paramref name="source"/> into a lane group padded with <paramref name="pad"/>; returns the rebased pointer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Pad(float* source, nint start, int count, float* group, float pad) =>
        Padding.Copy(source, start, count, group, Lanes, pad);

    /// <summary>Runs <paramref name="terms"/> over elements [0, n) and returns its sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TV, TT>(ref TT terms, nint n, out double r0, out double r1, out double r2)
        where TV : unmanaged, IFloatVector<TV>
        where TT : struct, ISumTerms<TT, TV>
    {
        r0 = 0;
        r1 = 0;
        r2 = 0;
        if (n <= 0) return;
        int w = TV.Count;
        nint full = n & ~(nint)(Lanes - 1);
        int tail = (int)(n - full);
        float* scratch = stackalloc float[3 * Lanes];
        for (nint start = 0; ; start += BlockElements)
        {
            nint end = Math.Min(full, start + BlockElements);
            TV a0 = TV.Zero, a1 = TV.Zero, a2 = TV.Zero, a3 = TV.Zero, a4 = TV.Zero, a5 = TV.Zero, a6 = TV.Zero, a7 = TV.Zero;
            TV b0 = TV.Zero, b1 = TV.Zero, b2 = TV.Zero, b3 = TV.Zero, b4 = TV.Zero, b5 = TV.Zero, b6 = TV.Zero, b7 = TV.Zero;
            TV c0 = TV.Zero, c1 = TV.Zero, c2 = TV.Zero, c3 = TV.Zero, c4 = TV.Zero, c5 = TV.Zero, c6 = TV.Zero, c7 = TV.Zero;
            for (nint i = start; i < end; i += Lanes)
            {
                terms.Add(i, ref a0, ref b0, ref c0);
                terms.Add(i + w, ref a1, ref b1, ref c1);
                if (w <= 8)
                {
                    terms.Add(i + 2 * w, ref a2, ref b2, ref c2);
                    terms.Add(i + 3 * w, ref a3, ref b3, ref c3);
                }
                if (w <= 4)
                {
                    terms.Add(i + 4 * w, ref a4, ref b4, ref c4);
                    terms.Add(i + 5 * w, ref a5, ref b5, ref c5);
                    terms.Add(i + 6 * w, ref a6, ref b6, ref c6);
                    terms.Add(i + 7 * w, ref a7, ref b7, ref c7);
                }
            }
            bool last = end == full;
            if (last && tail > 0)
            {
                var padded = terms.Padded(full, tail, scratch);
                padded.Add(full, ref a0, ref b0, ref c0);
                padded.Add(full + w, ref a1, ref b1, ref c1);
                if (w <= 8)
                {
                    padded.Add(full + 2 * w, ref a2, ref b2, ref c2);
                    padded.Add(full + 3 * w, ref a3, ref b3, ref c3);
                }
                if (w <= 4)
                {
                    padded.Add(full + 4 * w, ref a4, ref b4, ref c4);
                    padded.Add(full + 5 * w, ref a5, ref b5, ref c5);
                    padded.Add(full + 6 * w, ref a6, ref b6, ref c6);
                    padded.Add(full + 7 * w, ref a7, ref b7, ref c7);
                }
            }
            r0 += Fold(a0, a1, a2, a3, a4, a5, a6, a7);
            if (TT.Sums > 1) r1 += Fold(b0, b1, b2, b3, b4, b5, b6, b7);
            if (TT.Sums > 2) r2 += Fold(c0, c1, c2, c3, c4, c5, c6, c7);
            if (last) return;
        }
    }

    /// <summary>
    /// Folds 32 lanes held in 32/W accumulators (lanes W·k .. W·k + W − 1 in accumulator k): lane j + 16 onto lane j,
    /// then j + 8 onto j, and so on, which at every width is the same sequence of additions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fold<TV>(TV a0, TV a1, TV a2, TV a3, TV a4, TV a5, TV a6, TV a7) where TV : unmanaged, IFloatVector<TV>
    {
        int w = TV.Count;
        if (w == 4)
        {
            a0 += a4;
            a1 += a5;
            a2 += a6;
            a3 += a7;
        }
        if (w <= 8)
        {
            a0 += a2;
            a1 += a3;
        }
        return TV.Sum(a0 + a1);
    }
}
