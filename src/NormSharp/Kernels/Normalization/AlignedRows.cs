using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The element-wise row passes of the normalization core (y = x̂·w + b forward; dx and the parameter-gradient partials
/// backward) with every load and store on an aligned vector, for rows whose streams all start at the same position
/// within a vector (the usual case: arrays of one size come from the allocator alike, and a row length that is a
/// multiple of the width keeps every row there). A row is split at the first aligned element: whole aligned vectors
/// in the middle, and at each end one aligned vector that reaches past the row, read whole (a load inside one aligned
/// vector never crosses a line or a page) and written only in the row's lanes. Every element goes through the same
/// operations as in the unaligned pass, so the results are the same bits; only the speed differs: a vector that
/// straddles two cache lines costs two accesses, and when the stores straddle lines too, the loads behind them wait.
/// </summary>
internal static unsafe class AlignedRows
{
    /// <summary>
    /// Shortest row the aligned passes take. Below it the two partial end vectors and the call per row cost more than
    /// the aligned accesses save: measured against the unaligned passes, the aligned ones were slower at 256 columns
    /// (forward, and RMSNorm's backward), even at 512 and faster at 1024.
    /// </summary>
    public const int Minimum = 512;

    /// <summary>Room a <see cref="Matched"/> copy needs: the row, a vector's margin on either side, and a page to place it in.</summary>
    public static int CopyFloats(int cols) => Placement.Floats(cols + 32);

    /// <summary>
    /// The position (in elements) within an aligned vector at which every row of the given streams starts, or −1 when
    /// the aligned passes do not apply: a short row, a row length that is not a whole number of vectors, streams at
    /// different positions, or the portable width.
    /// </summary>
    public static int Phase<TV>(int cols, float* a, float* b, float* c = null) where TV : unmanaged, IFloatVector<TV>
    {
        if (cols < Minimum || cols % TV.Count != 0) return -1;
        int p = LaneMasks.Phase<TV>(a);
        if (p < 0 || LaneMasks.Phase<TV>(b) != p || (c != null && LaneMasks.Phase<TV>(c) != p)) return -1;
        return p;
    }

    /// <summary><see cref="Phase{TV}"/> at <paramref name="width"/>.</summary>
    public static int Phase(VectorWidth width, int cols, float* a, float* b, float* c) => width switch
    {
        VectorWidth.Bits512 => Phase<Vec512>(cols, a, b, c),
        VectorWidth.Bits256 => Phase<Vec256>(cols, a, b, c),
        VectorWidth.Bits128 => Phase<Vec128>(cols, a, b, c),
        _ => Phase<VecScalar>(cols, a, b, c),
    };

    /// <summary>Elements before a row's first aligned vector.</summary>
    public static int Head<TV>(int phase) where TV : unmanaged, IFloatVector<TV> => (TV.Count - phase) % TV.Count;

    /// <summary>
    /// A per-element parameter (weight or bias; null stays null) at the position of the rows of <paramref name="stored"/>
    /// (the stream the pass stores): itself when it is there, else a copy in <paramref name="scratch"/>
    /// (<see cref="CopyFloats"/> floats) <paramref name="distance"/> bytes from that stream within a page
    /// (<see cref="Placement"/>), with zeros in the margins the end vectors read.
    /// </summary>
    public static float* Matched<TV>(float* p, int cols, float* stored, int distance, float* scratch) where TV : unmanaged, IFloatVector<TV>
    {
        if (p == null || LaneMasks.Phase<TV>(p) == LaneMasks.Phase<TV>(stored)) return p;
        float* q = Placement.At((nuint)(scratch + 16), (nuint)stored + (nuint)distance);
        new Span<float>(q - 16, 16).Clear();
        new ReadOnlySpan<float>(p, cols).CopyTo(new Span<float>(q, cols));
        new Span<float>(q + cols, 16).Clear();
        return q;
    }

    /// <summary>
    /// y = x̂·w + b over one row of <paramref name="n"/> elements whose first aligned element is <paramref name="head"/>,
    /// prefetching the same span of <paramref name="prefetch"/> (the row read next) unless it is null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TV, TW, TB>(float* x, float* y, nint n, nint head, float hi, float lo, float r, TW w, TB b, float* prefetch)
        where TV : unmanaged, IFloatVector<TV>
        where TW : struct, IOperand<TW, TV>
        where TB : struct, IOperand<TB, TV>
    {
        int width = TV.Count;
        TV hv = TV.Create(hi), lv = TV.Create(lo), rv = TV.Create(r);
        if (head > 0)
        {
            nint j = head - width;
            LaneMasks.StoreLanes(NormalizeStep.Forward(TV.Load(x + j), hv, lv, rv, w.Load(j), b.Load(j)), y + j, width - (int)head, width);
        }
        nint i = head;
        if (prefetch != null)
        {
            for (; i <= n - width; i += width)
            {
                Prefetch.Read(prefetch + i);
                TV.Store(NormalizeStep.Forward(TV.Load(x + i), hv, lv, rv, w.Load(i), b.Load(i)), y + i);
            }
        }
        for (; i <= n - width; i += width)
            TV.Store(NormalizeStep.Forward(TV.Load(x + i), hv, lv, rv, w.Load(i), b.Load(i)), y + i);
        if (i < n) LaneMasks.StoreLanes(NormalizeStep.Forward(TV.Load(x + i), hv, lv, rv, w.Load(i), b.Load(i)), y + i, 0, (int)(n - i));
    }

    /// <summary>
    /// dx = r·((dy·w − mg) − x̂·mgx) over one row whose first aligned element is <paramref name="head"/>, and (when
    /// <typeparamref name="TG"/>) the chunk's partials Σ dy·x̂ into <paramref name="pw"/> and (centred) Σ dy into
    /// <paramref name="pb"/>, which lie at the row's phase with a vector's margin on either side.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TV, TW, TC, TG>(float* x, float* dy, float* dx, TW w, float* pw, float* pb, in RowConstants k, nint n, nint head)
        where TV : unmanaged, IFloatVector<TV>
        where TW : struct, IOperand<TW, TV>
        where TC : struct, IFlag
        where TG : struct, IFlag
    {
        int width = TV.Count;
        TV hi = TV.Create(k.Hi), lo = TV.Create(k.Lo), r = TV.Create(k.R), mg = TV.Create(k.MeanG), mgx = TV.Create(k.MeanGXhat);
        if (head > 0) BackwardEdge<TV, TW, TC, TG>(x, dy, dx, w, pw, pb, head - width, width - (int)head, width, hi, lo, r, mg, mgx);
        nint i = head;
        for (; i <= n - width; i += width)
        {
            var dyv = TV.Load(dy + i);
            TV.Store(NormalizeStep.Backward(TV.Load(x + i), dyv, w.Load(i), hi, lo, r, mg, mgx, out var xhat), dx + i);
            if (TG.Value)
            {
                TV.Store(TV.Fma(dyv, xhat, TV.Load(pw + i)), pw + i);
                if (TC.Value) TV.Store(TV.Load(pb + i) + dyv, pb + i);
            }
        }
        if (i < n) BackwardEdge<TV, TW, TC, TG>(x, dy, dx, w, pw, pb, i, 0, (int)(n - i), hi, lo, r, mg, mgx);
    }

    /// <summary>The aligned vector at element <paramref name="j"/> of a row, for its lanes [lo, hi) only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardEdge<TV, TW, TC, TG>(float* x, float* dy, float* dx, TW w, float* pw, float* pb, nint j, int lo, int hi,
        TV mean, TV meanLo, TV r, TV mg, TV mgx)
        where TV : unmanaged, IFloatVector<TV>
        where TW : struct, IOperand<TW, TV>
        where TC : struct, IFlag
        where TG : struct, IFlag
    {
        var dyv = TV.Load(dy + j);
        LaneMasks.StoreLanes(NormalizeStep.Backward(TV.Load(x + j), dyv, w.Load(j), mean, meanLo, r, mg, mgx, out var xhat), dx + j, lo, hi);
        if (!TG.Value) return;
        // The partials are this chunk's own, margins included: whole vectors are written, the lanes outside the row unchanged.
        var keep = LaneMasks.Between<TV>(0, lo, hi);
        TV p = TV.Load(pw + j);
        TV.Store(TV.Select(keep, TV.Fma(dyv, xhat, p), p), pw + j);
        if (!TC.Value) return;
        p = TV.Load(pb + j);
        TV.Store(TV.Select(keep, p + dyv, p), pb + j);
    }
}
