using System.Runtime.CompilerServices;

namespace NormSharp.Kernels.Simd;

/// <summary>Three vector accumulators, passed and returned by value so that the JIT keeps them in registers.</summary>
internal struct Sums3<TV> where TV : unmanaged, IFloatVector<TV>
{
    public TV A, B, C;
}

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

    /// <summary>The accumulators with the terms of elements [i, i + Count) added, lane by lane.</summary>
    Sums3<TV> Add(nint i, Sums3<TV> s);

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

    /// <summary>Room for three padded lane groups, as a local rather than a stackalloc so that <see cref="Run"/> can be inlined.</summary>
    [InlineArray(3 * Lanes)]
    private struct Scratch
    {
        private float _element;
    }

    /// <summary>Runs <paramref name="terms"/> over elements [0, n) and returns its sums.</summary>
    /// <remarks>
    /// The terms are taken by value, so their pointers and constants can live in registers through the loop. Inlined
    /// into the row loops: a call per row costs as much as a short row's sums.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit]
    public static void Run<TV, TT>(TT terms, nint n, out double r0, out double r1, out double r2)
        where TV : unmanaged, IFloatVector<TV>
        where TT : struct, ISumTerms<TT, TV>
    {
        r0 = 0;
        r1 = 0;
        r2 = 0;
        if (n <= 0) return;
        int w = TV.Count, sums = TT.Sums;
        nint full = n & ~(nint)(Lanes - 1);
        int tail = (int)(n - full);
        Unsafe.SkipInit(out Scratch buffer);
        float* scratch = (float*)Unsafe.AsPointer(ref buffer[0]);
        // The padded copy of the last partial group is made before any accumulator is live: a call made while vector
        // accumulators are live makes the JIT spill them, and it may do so inside the loop.
        var padded = tail > 0 ? terms.Padded(full, tail, scratch) : terms;
        for (nint start = 0; ; start += BlockElements)
        {
            nint end = Math.Min(full, start + BlockElements);
            Sums3<TV> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (nint i = start; i < end; i += Lanes)
            {
                a0 = terms.Add(i, a0);
                a1 = terms.Add(i + w, a1);
                if (w <= 8)
                {
                    a2 = terms.Add(i + 2 * w, a2);
                    a3 = terms.Add(i + 3 * w, a3);
                }
                if (w <= 4)
                {
                    a4 = terms.Add(i + 4 * w, a4);
                    a5 = terms.Add(i + 5 * w, a5);
                    a6 = terms.Add(i + 6 * w, a6);
                    a7 = terms.Add(i + 7 * w, a7);
                }
            }
            bool last = end == full;
            if (last && tail > 0)
            {
                a0 = padded.Add(full, a0);
                a1 = padded.Add(full + w, a1);
                if (w <= 8)
                {
                    a2 = padded.Add(full + 2 * w, a2);
                    a3 = padded.Add(full + 3 * w, a3);
                }
                if (w <= 4)
                {
                    a4 = padded.Add(full + 4 * w, a4);
                    a5 = padded.Add(full + 5 * w, a5);
                    a6 = padded.Add(full + 6 * w, a6);
                    a7 = padded.Add(full + 7 * w, a7);
                }
            }
            r0 += Fold(a0.A, a1.A, a2.A, a3.A, a4.A, a5.A, a6.A, a7.A);
            if (sums > 1) r1 += Fold(a0.B, a1.B, a2.B, a3.B, a4.B, a5.B, a6.B, a7.B);
            if (sums > 2) r2 += Fold(a0.C, a1.C, a2.C, a3.C, a4.C, a5.C, a6.C, a7.C);
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
