using System.Runtime.CompilerServices;
using NormSharp.Kernels.Normalization;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The GRU step after its recurrent product, in PyTorch's convention (gate order r, z, n), plain or layer-normalized
/// (<typeparamref name="TLn"/>, as in the paper's reference code). Plain: with x = W_ih·x + b_ih and hp = W_hh·h + b_hh,
/// r = σ(x_r + hp_r), z = σ(x_z + hp_z), n = tanh(x_n + r·hp_n), h' = n + z·(h − n). Layer-normalized: W_ih·x and
/// W_hh·h are each normalized before their biases, the r/z block (2H units) and the n block (H) with statistics of
/// their own. The step keeps r, z, n and hp_n for the backward; the gradient of h_prev has a direct part, z·dh', that
/// the cell writes before the driver adds dhp·W_hh.
/// </summary>
internal unsafe struct GruCellKernel<TLn> : ICellKernel<GruCellKernel<TLn>> where TLn : struct, IFlag
{
    /// <summary>Per-row statistics (layer-normalized): mean and rstd of x's r/z block, x's n block, hp's r/z block, hp's n block.</summary>
    public const int StatsPerRow = 8;

    /// <summary>
    /// [4H]: over the r/z block, what both halves add (b_ih + b_hh, plus β_ih + β_hh when layer-normalized); then the n
    /// block's input part (b_ih, plus β_ih) and its recurrent part (b_hh, plus β_hh). Zeros where a cell has none.
    /// </summary>
    public float* Shift;

    /// <summary>Gains of the two normalizations, [3H] each (layer-normalized only).</summary>
    public float* IhGain, HhGain;

    public float Eps;
    public int Batch, Hidden;

    /// <summary>Recorded: r, z, n and hp_n per row [T·B, 4H]; statistics [T·B, 8].</summary>
    public float* Gates, Stats;

    /// <summary>Backward: gradient of the projected input [T·B, 3H].</summary>
    public float* DProjected;

    public static int GateBlocks => 3;
    public static bool HasCellState => false;
    public static bool KeepsRecurrentProduct => TLn.Value;
    public static bool KeepsProjectedInput => TLn.Value;
    public static bool RecurrentGradientIsInputGradient => false;
    public static bool DirectHiddenPath => true;

    public readonly int TemporaryFloatsPerRow => 6 * Hidden;

    /// <summary>Layer-normalized: Σ dx·x̂_ih, Σ dx, Σ dhp·x̂_hh, Σ dhp [3H each] (dx and dhp after the normalizations).</summary>
    public readonly int PartialFloats => TLn.Value ? 12 * Hidden : 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Forward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, g = 3 * hd;
        for (int r = 0; r < s.Rows; r++)
        {
            nint gr = s.Row + r;
            float* x = s.X + (nint)r * g, hp = s.Hp + (nint)r * g;
            float* gates = s.Record ? Gates + gr * 4 * hd : s.Temp + (nint)r * 4 * hd;
            float* hPrev = s.HPrev + (nint)r * hd, h = s.HNext + (nint)r * hd;
            if (r + 1 < s.Rows) Prefetch(x + g, g);
            if (TLn.Value) NormalizedRow<TV>(x, hp, hPrev, gates, h, s.Record ? Stats + gr * StatsPerRow : null);
            else PlainRow<TV>(x, hp, hPrev, gates, h);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void PlainRow<TV>(float* x, float* hp, float* hPrev, float* gates, float* h) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden;
        GateOps.Run<TV, GateOps.AddThreeSigmoid<TV>>(default, x, hp, Shift, gates, 2 * hd);
        GateOps.Run<TV, GateOps.AddTwo<TV>>(default, hp + 2 * hd, Shift + 3 * hd, gates + 3 * hd, null, hd);
        GateOps.Run<TV, GateOps.AddTwo<TV>>(default, x + 2 * hd, Shift + 2 * hd, gates + 2 * hd, null, hd);
        Candidate<TV>(gates + 2 * hd, hPrev, gates, h);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void NormalizedRow<TV>(float* x, float* hp, float* hPrev, float* gates, float* h, float* stats) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden;
        var ia = RowStatistics<TV>(x, 2 * hd);
        var inn = RowStatistics<TV>(x + 2 * hd, hd);
        var ha = RowStatistics<TV>(hp, 2 * hd);
        var hn = RowStatistics<TV>(hp + 2 * hd, hd);
        // r, z = σ(LN(x)·γ_ih + (LN(hp)·γ_hh + shift)); hp_n = LN(hp)_n·γ_hh + β_hh + b_hh; x_n likewise, kept where n goes.
        GateOps.Run<TV, GateOps.NormalizedFma<TV>>(new() { N = ha.Norm }, hp, HhGain, Shift, gates, 2 * hd);
        GateOps.Run<TV, GateOps.NormalizedFmaIntoSigmoid<TV>>(new() { N = ia.Norm }, x, IhGain, gates, null, 2 * hd);
        GateOps.Run<TV, GateOps.NormalizedFma<TV>>(new() { N = hn.Norm }, hp + 2 * hd, HhGain + 2 * hd, Shift + 3 * hd, gates + 3 * hd, hd);
        GateOps.Run<TV, GateOps.NormalizedFma<TV>>(new() { N = inn.Norm }, x + 2 * hd, IhGain + 2 * hd, Shift + 2 * hd, gates + 2 * hd, hd);
        Candidate<TV>(gates + 2 * hd, hPrev, gates, h);
        if (stats != null)
        {
            stats[0] = ia.Hi;
            stats[1] = ia.R;
            stats[2] = inn.Hi;
            stats[3] = inn.R;
            stats[4] = ha.Hi;
            stats[5] = ha.R;
            stats[6] = hn.Hi;
            stats[7] = hn.R;
        }
    }

    /// <summary>n = tanh(x_n + r·hp_n) (written over x_n when that is in the gates row) and h' = n + z·(h − n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Candidate<TV>(float* xn, float* hPrev, float* gates, float* h) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden;
        GateOps.Run<TV, GateOps.FmaTanh<TV>>(default, gates, gates + 3 * hd, xn, gates + 2 * hd, hd);
        GateOps.Run<TV, GateOps.Interpolate<TV>>(default, gates + hd, hPrev, gates + 2 * hd, h, hd);
    }

    private struct GroupStatistics<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float Hi, R;
        public GateOps.Norm<TV> Norm;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly GroupStatistics<TV> RowStatistics<TV>(float* x, int n) where TV : unmanaged, IFloatVector<TV>
    {
        float pivot = x[0];
        double s1 = 0, s2 = 0;
        Moments.Accumulate<TV>(x, n, pivot, ref s1, ref s2);
        Moments.Finish(pivot, s1, s2, n, Eps, out double mean, out _, out float rstd);
        Moments.Split(mean, out float hi, out float lo);
        return new GroupStatistics<TV> { Hi = hi, R = rstd, Norm = new GateOps.Norm<TV>(hi, lo, rstd) };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Backward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, g = 3 * hd;
        for (int r = 0; r < s.Rows; r++)
        {
            nint gr = s.Row + r;
            float* gates = Gates + gr * 4 * hd;
            float* hPrev = s.HPrev + (nint)r * hd, dh = s.Dh + (nint)r * hd, dDirect = s.DhRec + (nint)r * hd;
            float* x = s.X + (nint)r * g, dx = DProjected + gr * g, dhp = s.DHp + (nint)r * g;
            if (r + 1 < s.Rows)
            {
                Prefetch(gates + 4 * hd, 4 * hd);
                Prefetch(hPrev + hd, hd);
                if (TLn.Value)
                {
                    Prefetch(s.X + (nint)(r + 1) * g, g);
                    Prefetch(s.Hp + (nint)(r + 1) * g, g);
                }
            }
            if (!TLn.Value)
            {
                GateBackwardRow<TV>(gates, hPrev, dh, dDirect, dx, dhp);
                continue;
            }
            // The gradients after the normalizations first, then back through each of the four normalized groups.
            float* dxPost = s.Temp, dhpPost = s.Temp + g, st = Stats + gr * StatsPerRow, hp = s.Hp + (nint)r * g, p = s.Partials;
            GateBackwardRow<TV>(gates, hPrev, dh, dDirect, dxPost, dhpPost);
            NormBackward.Group<TV>(x, dxPost, IhGain, st[0], st[1], 2 * hd, dx, p, p + g);
            NormBackward.Group<TV>(x + 2 * hd, dxPost + 2 * hd, IhGain + 2 * hd, st[2], st[3], hd, dx + 2 * hd, p + 2 * hd, p + g + 2 * hd);
            NormBackward.Group<TV>(hp, dhpPost, HhGain, st[4], st[5], 2 * hd, dhp, p + 2 * g, p + 3 * g);
            NormBackward.Group<TV>(hp + 2 * hd, dhpPost + 2 * hd, HhGain + 2 * hd, st[6], st[7], hd, dhp + 2 * hd, p + 2 * g + 2 * hd, p + 3 * g + 2 * hd);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(float* p, int floats)
    {
        for (int i = 0; i < floats; i += 16) Simd.Prefetch.Read(p + i);
    }

    /// <summary>From dh' the gradients of x's and hp's r, z, n parts and the direct part z·dh' of dh_prev, over one row.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void GateBackwardRow<TV>(float* gates, float* hPrev, float* dh, float* dDirect, float* dx, float* dhp) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        int full = hd - hd % w;
        for (nint j = 0; j < full; j += w) GateBackwardBody<TV>(j, hd, gates, hPrev, dh, dDirect, dx, dhp);
        if (full < hd) GateBackwardTail<TV>(full, hd - full, gates, hPrev, dh, dDirect, dx, dhp);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private readonly void GateBackwardTail<TV>(nint j0, int count, float* gates, float* hPrev, float* dh, float* dDirect, float* dx, float* dhp)
        where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        float* s = stackalloc float[13 * 16];
        float* gi = RowImage.In(gates, hd, 4, j0, count, s, w);
        float* hi = RowImage.In(hPrev, hd, 1, j0, count, s + 4 * w, w);
        float* di = RowImage.In(dh, hd, 1, j0, count, s + 5 * w, w);
        float* oo = RowImage.Out(1, j0, s + 6 * w, w);
        float* xo = RowImage.Out(3, j0, s + 7 * w, w);
        float* po = RowImage.Out(3, j0, s + 10 * w, w);
        GateBackwardBody<TV>(j0, w, gi, hi, di, oo, xo, po);
        RowImage.Back(oo, dDirect, hd, 1, j0, count, w);
        RowImage.Back(xo, dx, hd, 3, j0, count, w);
        RowImage.Back(po, dhp, hd, 3, j0, count, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GateBackwardBody<TV>(nint j, nint bs, float* gates, float* hPrev, float* dh, float* dDirect, float* dx, float* dhp)
        where TV : unmanaged, IFloatVector<TV>
    {
        var one = TV.Create(1f);
        TV r = TV.Load(gates + j), z = TV.Load(gates + bs + j), n = TV.Load(gates + 2 * bs + j), hn = TV.Load(gates + 3 * bs + j);
        TV d = TV.Load(dh + j);
        TV.Store(d * z, dDirect + j);
        TV dnp = d * (one - z) * TV.Fma(TV.Zero - n, n, one);
        TV dz = d * (TV.Load(hPrev + j) - n) * z * (one - z);
        TV dr = dnp * hn * r * (one - r);
        TV.Store(dr, dx + j);
        TV.Store(dz, dx + bs + j);
        TV.Store(dnp, dx + 2 * bs + j);
        TV.Store(dr, dhp + j);
        TV.Store(dz, dhp + bs + j);
        TV.Store(dnp * r, dhp + 2 * bs + j);
    }
}
