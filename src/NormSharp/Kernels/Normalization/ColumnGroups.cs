using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The column layout of the normalization core: x is [rows, C] row-major and channel j is column j, so a vector
/// holds consecutive channels and each lane sums its own channel down the rows. A lane's sums run row by row in
/// float over blocks of 32 rows, each block added in double, which is the same sequence of operations at every
/// width. Used by BatchNorm on [N, C] inputs; statistics follow <see cref="Moments"/> (pivot: the first row), the
/// element-wise steps are <see cref="NormalizeStep"/>'s with per-lane constants. Channels past the last whole
/// vector go through the same loops on a padded copy of their columns.
/// </summary>
internal static unsafe class ColumnGroups
{
    /// <summary>Rows per float block before the sums move to double.</summary>
    private const int BlockRows = 32;

    /// <summary>Channels [0, count) of x (row stride ld): S1 and S2 about the pivot x[0, j], in double, one per channel.</summary>
    public static void Statistics<TV>(float* x, nint ld, int rows, int count, double* s1, double* s2)
        where TV : unmanaged, IFloatVector<TV>
    {
        var terms = new ShiftedColumns<TV> { X = x };
        Run<TV, ShiftedColumns<TV>>(ref terms, ld, rows, count, s1, s2, null);
    }

    /// <summary>Channels [0, count): Σdy, Σdy·(x − hi[j]) and Σ(x − hi[j]) in double, one per channel.</summary>
    public static void Sums<TV>(float* x, float* dy, float* hi, nint ld, int rows, int count, double* sumDy, double* sumDyD, double* sumD)
        where TV : unmanaged, IFloatVector<TV>
    {
        var terms = new GradientColumns<TV> { X = x, Dy = dy, Hi = hi };
        Run<TV, GradientColumns<TV>>(ref terms, ld, rows, count, sumDy, sumDyD, sumD);
    }

    /// <summary>y[i, j] = x̂·w[j] + b[j] for rows [0, rows) and channels [0, count), with the group constants of channel j at index j.</summary>
    public static void Forward<TV>(float* x, float* y, nint ld, int rows, int count, ChannelConstants k, float* w, float* b)
        where TV : unmanaged, IFloatVector<TV>
    {
        if (w != null && b != null) Forward<TV, Stream<TV>, Stream<TV>>(x, y, ld, rows, count, k, new(w), new(b));
        else if (w != null) Forward<TV, Stream<TV>, Constant<TV>>(x, y, ld, rows, count, k, new(w), new(TV.Zero));
        else if (b != null) Forward<TV, Constant<TV>, Stream<TV>>(x, y, ld, rows, count, k, new(TV.Create(1f)), new(b));
        else Forward<TV, Constant<TV>, Constant<TV>>(x, y, ld, rows, count, k, new(TV.Create(1f)), new(TV.Zero));
    }

    /// <summary>dx[i, j] = r·((dy·w[j] − mg) − x̂·mgx) for rows [0, rows) and channels [0, count).</summary>
    public static void Backward<TV>(float* x, float* dy, float* dx, nint ld, int rows, int count, ChannelConstants k, float* w)
        where TV : unmanaged, IFloatVector<TV>
    {
        if (w != null) Backward<TV, Stream<TV>>(x, dy, dx, ld, rows, count, k, new(w));
        else Backward<TV, Constant<TV>>(x, dy, dx, ld, rows, count, k, new(TV.Create(1f)));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<TV, TW, TB>(float* x, float* y, nint ld, int rows, int count, ChannelConstants k, TW w, TB b)
        where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV> where TB : struct, IOperand<TB, TV>
    {
        int width = TV.Count, j = 0;
        for (; j + width <= count; j += width)
        {
            TV hi = TV.Load(k.Hi + j), lo = TV.Load(k.Lo + j), r = TV.Load(k.R + j), wv = w.Load(j), bv = b.Load(j);
            for (int i = 0; i < rows; i++)
                TV.Store(NormalizeStep.Forward(TV.Load(x + i * ld + j), hi, lo, r, wv, bv), y + i * ld + j);
        }
        if (j == count) return;
        // The last channels: constants padded once, each row's values through a padded vector.
        int tail = count - j;
        float* s = stackalloc float[8 * 16];
        TV ph = TV.Load(Padding.Copy(k.Hi, j, tail, s, width, 0f) + j), pl = TV.Load(Padding.Copy(k.Lo, j, tail, s + 16, width, 0f) + j);
        TV pr = TV.Load(Padding.Copy(k.R, j, tail, s + 32, width, 0f) + j);
        TV pw = w.Padded(j, tail, s + 48, width, 0f).Load(j), pb = b.Padded(j, tail, s + 64, width, 0f).Load(j);
        for (int i = 0; i < rows; i++)
        {
            float* xs = Padding.Copy(x + i * ld, j, tail, s + 80, width, 0f);
            TV.Store(NormalizeStep.Forward(TV.Load(xs + j), ph, pl, pr, pw, pb), s + 96);
            for (int q = 0; q < tail; q++) y[i * ld + j + q] = s[96 + q];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward<TV, TW>(float* x, float* dy, float* dx, nint ld, int rows, int count, ChannelConstants k, TW w)
        where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
    {
        int width = TV.Count, j = 0;
        for (; j + width <= count; j += width)
        {
            TV hi = TV.Load(k.Hi + j), lo = TV.Load(k.Lo + j), r = TV.Load(k.R + j), mg = TV.Load(k.MeanG + j), mgx = TV.Load(k.MeanGXhat + j), wv = w.Load(j);
            for (int i = 0; i < rows; i++)
            {
                nint o = i * ld + j;
                TV.Store(NormalizeStep.Backward(TV.Load(x + o), TV.Load(dy + o), wv, hi, lo, r, mg, mgx, out _), dx + o);
            }
        }
        if (j == count) return;
        int tail = count - j;
        float* s = stackalloc float[10 * 16];
        TV ph = TV.Load(Padding.Copy(k.Hi, j, tail, s, width, 0f) + j), pl = TV.Load(Padding.Copy(k.Lo, j, tail, s + 16, width, 0f) + j);
        TV pr = TV.Load(Padding.Copy(k.R, j, tail, s + 32, width, 0f) + j), pg = TV.Load(Padding.Copy(k.MeanG, j, tail, s + 48, width, 0f) + j);
        TV pgx = TV.Load(Padding.Copy(k.MeanGXhat, j, tail, s + 64, width, 0f) + j), pw = w.Padded(j, tail, s + 80, width, 0f).Load(j);
        for (int i = 0; i < rows; i++)
        {
            float* xs = Padding.Copy(x + i * ld, j, tail, s + 96, width, 0f);
            float* gs = Padding.Copy(dy + i * ld, j, tail, s + 112, width, 0f);
            TV.Store(NormalizeStep.Backward(TV.Load(xs + j), TV.Load(gs + j), pw, ph, pl, pr, pg, pgx, out _), s + 128);
            for (int q = 0; q < tail; q++) dx[i * ld + j + q] = s[128 + q];
        }
    }

    /// <summary>Down-the-rows sums for channels [0, count); r0..r2 need room for count rounded up to 16.</summary>
    private static void Run<TV, TT>(ref TT terms, nint ld, int rows, int count, double* r0, double* r1, double* r2)
        where TV : unmanaged, IFloatVector<TV> where TT : struct, IColumnTerms<TT, TV>
    {
        int w = TV.Count;
        int j = 0;
        for (; j + w <= count; j += w) Lanes<TV, TT>(ref terms, ld, rows, j, r0 + j, r1 + j, r2 == null ? null : r2 + j);
        if (j == count) return;
        // The last channels: their columns copied into a panel of whole vectors, padded with zero terms.
        float[] panel = KernelScratch.Floats(TT.Streams * rows * w);
        fixed (float* p = panel)
        {
            var padded = terms.Panel(j, count - j, rows, ld, p, w);
            Lanes<TV, TT>(ref padded, w, rows, 0, r0 + j, r1 + j, r2 == null ? null : r2 + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lanes<TV, TT>(ref TT terms, nint ld, int rows, nint j, double* r0, double* r1, double* r2)
        where TV : unmanaged, IFloatVector<TV> where TT : struct, IColumnTerms<TT, TV>
    {
        float* lanes = stackalloc float[16];
        for (int i0 = 0; i0 < rows; i0 += BlockRows)
        {
            int i1 = Math.Min(rows, i0 + BlockRows);
            TV a0 = TV.Zero, a1 = TV.Zero, a2 = TV.Zero;
            for (int i = i0; i < i1; i++) terms.Add(i * ld + j, j, ref a0, ref a1, ref a2);
            AddLanes(a0, lanes, r0);
            AddLanes(a1, lanes, r1);
            if (r2 != null) AddLanes(a2, lanes, r2);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddLanes<TV>(TV v, float* lanes, double* sums) where TV : unmanaged, IFloatVector<TV>
    {
        TV.Store(v, lanes);
        for (int l = 0; l < TV.Count; l++) sums[l] += lanes[l];
    }

    /// <summary>Per-lane terms of a down-the-rows sum; element (i, j) is at offset i·ld + j.</summary>
    private interface IColumnTerms<TSelf, TV> where TSelf : struct, IColumnTerms<TSelf, TV> where TV : unmanaged, IFloatVector<TV>
    {
        /// <summary>Streams the panel copy holds.</summary>
        static abstract int Streams { get; }

        void Add(nint offset, nint j, ref TV s0, ref TV s1, ref TV s2);

        /// <summary>Columns [j, j + count) of every row copied into <paramref name="panel"/> with row stride <paramref name="width"/>, zero-padded, and re-based so that column j is panel column 0.</summary>
        TSelf Panel(int j, int count, int rows, nint ld, float* panel, int width);
    }

    private static float* CopyPanel(float* source, int j, int count, int rows, nint ld, float* panel, int width)
    {
        for (int i = 0; i < rows; i++)
            Padding.Copy(source + i * ld, j, count, panel + i * width, width, 0f);
        return panel;
    }

    private struct ShiftedColumns<TV> : IColumnTerms<ShiftedColumns<TV>, TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float* X;

        public static int Streams => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Add(nint offset, nint j, ref TV s0, ref TV s1, ref TV s2)
        {
            var d = TV.Load(X + offset) - TV.Load(X + j);
            s0 += d;
            s1 = TV.Fma(d, d, s1);
        }

        public readonly ShiftedColumns<TV> Panel(int j, int count, int rows, nint ld, float* panel, int width) =>
            new() { X = CopyPanel(X, j, count, rows, ld, panel, width) };
    }

    private struct GradientColumns<TV> : IColumnTerms<GradientColumns<TV>, TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float* X, Dy, Hi;

        public static int Streams => 3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Add(nint offset, nint j, ref TV s0, ref TV s1, ref TV s2)
        {
            var g = TV.Load(Dy + offset);
            var d = TV.Load(X + offset) - TV.Load(Hi + j);
            s0 += g;
            s1 = TV.Fma(g, d, s1);
            s2 += d;
        }

        public readonly GradientColumns<TV> Panel(int j, int count, int rows, nint ld, float* panel, int width)
        {
            float* hi = panel + 2 * rows * width;
            Padding.Copy(Hi, j, count, hi, width, 0f);
            return new()
            {
                X = CopyPanel(X, j, count, rows, ld, panel, width),
                Dy = CopyPanel(Dy, j, count, rows, ld, panel + rows * width, width),
                Hi = hi,
            };
        }
    }
}

/// <summary>Per-channel group constants of the column layout: channel j's mean (hi + lo), r, mean(g) and mean(g·x̂) at index j.</summary>
internal unsafe struct ChannelConstants
{
    public float* Hi, Lo, R, MeanG, MeanGXhat;
}
