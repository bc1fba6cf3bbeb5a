using System.Runtime.CompilerServices;
using NormSharp.Kernels.Normalization;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The LSTM step after its recurrent product (gate order i, f, g, o), plain or layer-normalized (<typeparamref name="TLn"/>,
/// Ba et al. 2016). Plain: gates = x + hp + b, c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c'), in one pass over the row.
/// Layer-normalized: gates = LN(x)·γ_ih + LN(hp)·γ_hh + (β_ih + β_hh + b), the two statistics taken from the row
/// first, and h' = σ(o)·tanh(LN(c')·γ_c + β_c) after the statistics of c'. The statistics and the normalization
/// backward are the library's (<see cref="Moments"/>, <see cref="NormalizeStep"/>), so they keep float accuracy at large
/// means. In the backward the gradients of x and hp of a layer-normalized row are computed together from one pass,
/// and the gains' gradients and the shared shift gradient Σ dgates are summed per chunk.
/// </summary>
internal unsafe struct LstmCellKernel<TLn> : ICellKernel<LstmCellKernel<TLn>> where TLn : struct, IFlag
{
    /// <summary>Per-row statistics (layer-normalized): ih mean, ih rstd, hh mean, hh rstd, c mean, c rstd.</summary>
    public const int StatsPerRow = 6;

    /// <summary>Added to every gate row: the plain cell's b_ih + b_hh (zeros when none), or β_ih + β_hh + b.</summary>
    public float* Shift;

    /// <summary>Gains γ_ih, γ_hh [4H] and the cell-state normalization's γ_c, β_c [H] (layer-normalized only).</summary>
    public float* IhGain, HhGain, CGain, CBias;

    public float Eps;
    public int Batch, Hidden;

    /// <summary>Recorded: activated gates [T·B, 4H], tanh of the (normalized) cell state [T·B, H], statistics [T·B, 6].</summary>
    public float* Gates, TanhC, Stats;

    /// <summary>Backward: gradient of the projected input [T·B, 4H] (the layer-normalized cell's; the plain cell's is its dhp).</summary>
    public float* DProjected;

    public static int GateBlocks => 4;
    public static bool HasCellState => true;
    public static bool KeepsRecurrentProduct => TLn.Value;
    public static bool KeepsProjectedInput => TLn.Value;
    public static bool RecurrentGradientIsInputGradient => !TLn.Value;
    public static bool DirectHiddenPath => false;

    public readonly int TemporaryFloatsPerRow => 5 * Hidden;

    /// <summary>Layer-normalized: Σ dgates·x̂_ih, Σ dgates·x̂_hh, Σ dgates [4H each], then Σ dy_c·ĉ and Σ dy_c [H each].</summary>
    public readonly int PartialFloats => TLn.Value ? 14 * Hidden : 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Forward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, g = 4 * hd;
        for (int r = 0; r < s.Rows; r++)
        {
            nint gr = s.Row + r;
            float* x = s.X + (nint)r * g, hp = s.Hp + (nint)r * g;
            float* gates = s.Record ? Gates + gr * g : s.Temp + (nint)r * 5 * hd;
            float* tc = s.Record ? TanhC + gr * hd : s.Temp + (nint)r * 5 * hd + g;
            float* cPrev = s.CPrev + (nint)r * hd, c = s.CNext + (nint)r * hd, h = s.HNext + (nint)r * hd;
            if (r + 1 < s.Rows)
            {
                PrefetchRow(x + g, g);
                if (s.Record) PrefetchRow(gates + g, g);
            }
            if (TLn.Value) NormalizedRow<TV>(x, hp, cPrev, gates, c, tc, h, s.Record ? Stats + gr * StatsPerRow : null);
            else PlainRow<TV>(x, hp, cPrev, gates, c, tc, h);
        }
    }

    /// <summary>gates = σ/tanh(x + hp + b), c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh c': one row in passes of one function each.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void PlainRow<TV>(float* x, float* hp, float* cPrev, float* gates, float* c, float* tc, float* h) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden;
        GateOps.Run<TV, GateOps.AddThreeSigmoid<TV>>(default, x, hp, Shift, gates, 2 * hd);
        GateOps.Run<TV, GateOps.AddThreeTanh<TV>>(default, x + 2 * hd, hp + 2 * hd, Shift + 2 * hd, gates + 2 * hd, hd);
        GateOps.Run<TV, GateOps.AddThreeSigmoid<TV>>(default, x + 3 * hd, hp + 3 * hd, Shift + 3 * hd, gates + 3 * hd, hd);
        CellUpdate<TV>(gates, cPrev, c);
        GateOps.Run<TV, GateOps.TanhTimes<TV>>(default, c, tc, gates + 3 * hd, h, hd);
    }

    /// <summary>The layer-normalized row: both input statistics, the gates, c', the statistics of c', then h'.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void NormalizedRow<TV>(float* x, float* hp, float* cPrev, float* gates, float* c, float* tc, float* h, float* stats)
        where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, g = 4 * hd;
        float ihHi = RowStatistics<TV>(x, g, out float ihLo, out float ihR);
        float hhHi = RowStatistics<TV>(hp, g, out float hhLo, out float hhR);
        var ih = new GateOps.Norm<TV>(ihHi, ihLo, ihR);
        // gates = LN(x)·γ_ih + (LN(hp)·γ_hh + shift), then the nonlinearity of each block.
        GateOps.Run<TV, GateOps.NormalizedFma<TV>>(new() { N = new(hhHi, hhLo, hhR) }, hp, HhGain, Shift, gates, g);
        GateOps.Run<TV, GateOps.NormalizedFmaIntoSigmoid<TV>>(new() { N = ih }, x, IhGain, gates, null, 2 * hd);
        GateOps.Run<TV, GateOps.NormalizedFmaIntoTanh<TV>>(new() { N = ih }, x + 2 * hd, IhGain + 2 * hd, gates + 2 * hd, null, hd);
        GateOps.Run<TV, GateOps.NormalizedFmaIntoSigmoid<TV>>(new() { N = ih }, x + 3 * hd, IhGain + 3 * hd, gates + 3 * hd, null, hd);
        CellUpdate<TV>(gates, cPrev, c);
        float cHi = RowStatistics<TV>(c, hd, out float cLo, out float cR);
        GateOps.Run<TV, GateOps.NormalizedFmaTanh<TV>>(new() { N = new(cHi, cLo, cR) }, c, CGain, CBias, tc, hd);
        GateOps.Run<TV, GateOps.Mul<TV>>(default, gates + 3 * hd, tc, h, null, hd);
        if (stats != null)
        {
            stats[0] = ihHi;
            stats[1] = ihR;
            stats[2] = hhHi;
            stats[3] = hhR;
            stats[4] = cHi;
            stats[5] = cR;
        }
    }

    /// <summary>c' = σ(f)·c + (σ(i)·tanh(g)), the sum rounded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void CellUpdate<TV>(float* gates, float* cPrev, float* c) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden;
        GateOps.Run<TV, GateOps.Mul<TV>>(default, gates, gates + 2 * hd, c, null, hd);
        GateOps.Run<TV, GateOps.FmaInto<TV>>(default, gates + hd, cPrev, c, null, hd);
    }

    /// <summary>A row's statistics: returns the mean's float part, with the remainder and 1/sqrt(var + eps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly float RowStatistics<TV>(float* x, int n, out float lo, out float rstd) where TV : unmanaged, IFloatVector<TV>
    {
        float pivot = x[0];
        double s1 = 0, s2 = 0;
        Moments.Accumulate<TV>(x, n, pivot, ref s1, ref s2);
        Moments.Finish(pivot, s1, s2, n, Eps, out double mean, out _, out rstd);
        Moments.Split(mean, out float hi, out lo);
        return hi;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Backward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, g = 4 * hd;
        for (int r = 0; r < s.Rows; r++)
        {
            nint gr = s.Row + r;
            float* gates = Gates + gr * g, tc = TanhC + gr * hd;
            float* cPrev = s.CPrev + (nint)r * hd, c = s.CNext + (nint)r * hd;
            float* dh = s.Dh + (nint)r * hd, dc = s.DcRec + (nint)r * hd;
            if (r + 1 < s.Rows)
            {
                // The next row's recorded values come from far caches: ask for them while this row runs from L1.
                PrefetchRow(gates + g, g);
                PrefetchRow(tc + hd, hd);
                PrefetchRow(c + hd, hd);
                if (TLn.Value)
                {
                    PrefetchRow(cPrev + hd, hd);
                    PrefetchRow(s.Hp + (nint)(r + 1) * g, g);
                    PrefetchRow(s.X + (nint)(r + 1) * g, g);
                    // And the lines the row's gradients go to, so that their stores do not wait for them.
                    PrefetchRow(s.DHp + (nint)(r + 1) * g, g);
                    PrefetchRow(DProjected + (gr + 1) * g, g);
                }
            }
            if (!TLn.Value)
            {
                // dhp is the gradient of the projected input too (the driver hands both the same buffer).
                PlainBackwardRow<TV>(gates, tc, cPrev, dh, dc, s.DHp + (nint)r * g);
                continue;
            }
            float* x = s.X + (nint)r * g, dx = DProjected + gr * g;
            float* st = Stats + gr * StatsPerRow;
            float* dyc = s.Temp;           // gradient of LN(c')·γ_c + β_c, one row
            float* dg = s.Temp + hd;       // gradient of the gate pre-activations, one row
            float* partials = s.Partials;
            OutputBackwardRow<TV>(gates + 3 * hd, tc, dh, dg + 3 * hd, dyc);
            // Through LN(c'): the row's sums first, then c', the gates and dc_prev in one pass.
            var kc = NormBackward.Constants<TV>(c, dyc, CGain, st[4], st[5], hd);
            CellBackwardRow<TV>(gates, c, cPrev, dyc, dc, dg, partials + 12 * hd, partials + 13 * hd, kc);
            // Through both input normalizations: dhp (for W_hh and h_prev) and dx together.
            var kh = NormBackward.Constants<TV>(s.Hp + (nint)r * g, dg, HhGain, st[2], st[3], g);
            var ki = NormBackward.Constants<TV>(x, dg, IhGain, st[0], st[1], g);
            InputBackwardRow<TV>(dg, s.Hp + (nint)r * g, x, s.DHp + (nint)r * g, dx, partials, kh, ki, g);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(float* p, int floats)
    {
        for (int i = 0; i < floats; i += 16) Prefetch.Read(p + i);
    }

    // ---- plain cell: one pass ----

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void PlainBackwardRow<TV>(float* gates, float* tc, float* cPrev, float* dh, float* dc, float* dg) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        int full = hd - hd % w;
        for (nint j = 0; j < full; j += w) PlainBackwardBody<TV>(j, hd, gates, tc, cPrev, dh, dc, dg);
        if (full < hd) PlainBackwardTail<TV>(full, hd - full, gates, tc, cPrev, dh, dc, dg);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private readonly void PlainBackwardTail<TV>(nint j0, int count, float* gates, float* tc, float* cPrev, float* dh, float* dc, float* dg) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        float* s = stackalloc float[12 * 16];
        float* gi = RowImage.In(gates, hd, 4, j0, count, s, w);
        float* ti = RowImage.In(tc, hd, 1, j0, count, s + 4 * w, w);
        float* ci = RowImage.In(cPrev, hd, 1, j0, count, s + 5 * w, w);
        float* hi = RowImage.In(dh, hd, 1, j0, count, s + 6 * w, w);
        float* di = RowImage.In(dc, hd, 1, j0, count, s + 7 * w, w);
        float* go = RowImage.Out(4, j0, s + 8 * w, w);
        PlainBackwardBody<TV>(j0, w, gi, ti, ci, hi, di, go);
        RowImage.Back(di, dc, hd, 1, j0, count, w);
        RowImage.Back(go, dg, hd, 4, j0, count, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PlainBackwardBody<TV>(nint j, nint bs, float* gates, float* tc, float* cPrev, float* dh, float* dc, float* dg) where TV : unmanaged, IFloatVector<TV>
    {
        var one = TV.Create(1f);
        TV i = TV.Load(gates + j), f = TV.Load(gates + bs + j), gg = TV.Load(gates + 2 * bs + j), o = TV.Load(gates + 3 * bs + j);
        TV t = TV.Load(tc + j), dhv = TV.Load(dh + j);
        TV dho = dhv * o;
        TV.Store(dhv * t * o * (one - o), dg + 3 * bs + j);
        TV dct = TV.Fma(dho, TV.Fma(TV.Zero - t, t, one), TV.Load(dc + j));
        TV.Store(dct * gg * i * (one - i), dg + j);
        TV.Store(dct * TV.Load(cPrev + j) * f * (one - f), dg + bs + j);
        TV.Store(dct * i * TV.Fma(TV.Zero - gg, gg, one), dg + 2 * bs + j);
        TV.Store(dct * f, dc + j);
    }

    // ---- layer-normalized cell: four passes ----

    /// <summary>dgates_o and dy_c = dh·σ(o)·(1 − tanh²) over one row.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void OutputBackwardRow<TV>(float* o, float* tc, float* dh, float* dgo, float* dyc) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        int full = hd - hd % w;
        for (nint j = 0; j < full; j += w) OutputBackwardBody<TV>(j, o, tc, dh, dgo, dyc);
        if (full < hd) OutputBackwardTail<TV>(full, hd - full, o, tc, dh, dgo, dyc);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private readonly void OutputBackwardTail<TV>(nint j0, int count, float* o, float* tc, float* dh, float* dgo, float* dyc) where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        float* s = stackalloc float[5 * 16];
        float* oi = RowImage.In(o, hd, 1, j0, count, s, w);
        float* ti = RowImage.In(tc, hd, 1, j0, count, s + w, w);
        float* hi = RowImage.In(dh, hd, 1, j0, count, s + 2 * w, w);
        float* go = RowImage.Out(1, j0, s + 3 * w, w);
        float* yo = RowImage.Out(1, j0, s + 4 * w, w);
        OutputBackwardBody<TV>(j0, oi, ti, hi, go, yo);
        RowImage.Back(go, dgo, hd, 1, j0, count, w);
        RowImage.Back(yo, dyc, hd, 1, j0, count, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputBackwardBody<TV>(nint j, float* o, float* tc, float* dh, float* dgo, float* dyc) where TV : unmanaged, IFloatVector<TV>
    {
        var one = TV.Create(1f);
        TV ov = TV.Load(o + j), t = TV.Load(tc + j), dhv = TV.Load(dh + j);
        TV.Store(dhv * t * ov * (one - ov), dgo + j);
        TV.Store(dhv * ov * TV.Fma(TV.Zero - t, t, one), dyc + j);
    }

    /// <summary>Through LN(c') to c', then the i, f, g gates and dc_prev; the γ_c and β_c partials.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void CellBackwardRow<TV>(float* gates, float* c, float* cPrev, float* dyc, float* dc, float* dg, float* pgc, float* pbc, in RowConstants k)
        where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        int full = hd - hd % w;
        for (nint j = 0; j < full; j += w) CellBackwardBody<TV>(j, hd, gates, c, cPrev, dyc, CGain, dc, dg, pgc, pbc, k);
        if (full < hd) CellBackwardTail<TV>(full, hd - full, gates, c, cPrev, dyc, dc, dg, pgc, pbc, k);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private readonly void CellBackwardTail<TV>(nint j0, int count, float* gates, float* c, float* cPrev, float* dyc, float* dc, float* dg, float* pgc, float* pbc, in RowConstants k)
        where TV : unmanaged, IFloatVector<TV>
    {
        int hd = Hidden, w = TV.Count;
        float* s = stackalloc float[14 * 16];
        float* gi = RowImage.In(gates, hd, 3, j0, count, s, w);
        float* ci = RowImage.In(c, hd, 1, j0, count, s + 3 * w, w);
        float* pi = RowImage.In(cPrev, hd, 1, j0, count, s + 4 * w, w);
        float* yi = RowImage.In(dyc, hd, 1, j0, count, s + 5 * w, w);
        float* wi = RowImage.In(CGain, hd, 1, j0, count, s + 6 * w, w);
        float* di = RowImage.In(dc, hd, 1, j0, count, s + 7 * w, w);
        float* go = RowImage.Out(3, j0, s + 8 * w, w);
        float* pw = RowImage.In(pgc, hd, 1, j0, count, s + 11 * w, w);
        float* pb = RowImage.In(pbc, hd, 1, j0, count, s + 12 * w, w);
        CellBackwardBody<TV>(j0, w, gi, ci, pi, yi, wi, di, go, pw, pb, k);
        RowImage.Back(di, dc, hd, 1, j0, count, w);
        RowImage.Back(go, dg, hd, 3, j0, count, w);
        RowImage.Back(pw, pgc, hd, 1, j0, count, w);
        RowImage.Back(pb, pbc, hd, 1, j0, count, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CellBackwardBody<TV>(nint j, nint bs, float* gates, float* c, float* cPrev, float* dyc, float* gc, float* dc, float* dg,
        float* pgc, float* pbc, in RowConstants k) where TV : unmanaged, IFloatVector<TV>
    {
        var one = TV.Create(1f);
        TV dy = TV.Load(dyc + j);
        TV dcn = NormalizeStep.Backward(TV.Load(c + j), dy, TV.Load(gc + j), TV.Create(k.Hi), TV.Create(k.Lo), TV.Create(k.R),
            TV.Create(k.MeanG), TV.Create(k.MeanGXhat), out TV chat);
        TV.Store(TV.Fma(dy, chat, TV.Load(pgc + j)), pgc + j);
        TV.Store(TV.Load(pbc + j) + dy, pbc + j);
        TV dct = dcn + TV.Load(dc + j);
        TV i = TV.Load(gates + j), f = TV.Load(gates + bs + j), gg = TV.Load(gates + 2 * bs + j);
        TV.Store(dct * gg * i * (one - i), dg + j);
        TV.Store(dct * TV.Load(cPrev + j) * f * (one - f), dg + bs + j);
        TV.Store(dct * i * TV.Fma(TV.Zero - gg, gg, one), dg + 2 * bs + j);
        TV.Store(dct * f, dc + j);
    }

    /// <summary>dhp and dx of one row from dgates through LN_hh and LN_ih, with the γ_ih, γ_hh and Σ dgates partials.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private readonly void InputBackwardRow<TV>(float* dg, float* hp, float* x, float* dhp, float* dx, float* partials, in RowConstants kh, in RowConstants ki, int g)
        where TV : unmanaged, IFloatVector<TV>
    {
        int w = TV.Count;
        int full = g - g % w;
        float* pgi = partials, pgh = partials + g, psum = partials + 2 * g;
        for (nint j = 0; j < full; j += w) InputBackwardBody<TV>(j, dg, hp, x, IhGain, HhGain, dhp, dx, pgi, pgh, psum, kh, ki);
        if (full < g) InputBackwardTail<TV>(full, g - full, dg, hp, x, dhp, dx, pgi, pgh, psum, kh, ki, g);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private readonly void InputBackwardTail<TV>(nint j0, int count, float* dg, float* hp, float* x, float* dhp, float* dx, float* pgi, float* pgh, float* psum,
        in RowConstants kh, in RowConstants ki, int g) where TV : unmanaged, IFloatVector<TV>
    {
        int w = TV.Count;
        float* s = stackalloc float[10 * 16];
        float* gi = RowImage.In(dg, g, 1, j0, count, s, w);
        float* hi = RowImage.In(hp, g, 1, j0, count, s + w, w);
        float* xi = RowImage.In(x, g, 1, j0, count, s + 2 * w, w);
        float* wi = RowImage.In(IhGain, g, 1, j0, count, s + 3 * w, w);
        float* wh = RowImage.In(HhGain, g, 1, j0, count, s + 4 * w, w);
        float* ho = RowImage.Out(1, j0, s + 5 * w, w);
        float* xo = RowImage.Out(1, j0, s + 6 * w, w);
        float* p0 = RowImage.In(pgi, g, 1, j0, count, s + 7 * w, w);
        float* p1 = RowImage.In(pgh, g, 1, j0, count, s + 8 * w, w);
        float* p2 = RowImage.In(psum, g, 1, j0, count, s + 9 * w, w);
        InputBackwardBody<TV>(j0, gi, hi, xi, wi, wh, ho, xo, p0, p1, p2, kh, ki);
        RowImage.Back(ho, dhp, g, 1, j0, count, w);
        RowImage.Back(xo, dx, g, 1, j0, count, w);
        RowImage.Back(p0, pgi, g, 1, j0, count, w);
        RowImage.Back(p1, pgh, g, 1, j0, count, w);
        RowImage.Back(p2, psum, g, 1, j0, count, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputBackwardBody<TV>(nint j, float* dg, float* hp, float* x, float* gi, float* gh, float* dhp, float* dx,
        float* pgi, float* pgh, float* psum, in RowConstants kh, in RowConstants ki) where TV : unmanaged, IFloatVector<TV>
    {
        TV d = TV.Load(dg + j);
        TV.Store(NormalizeStep.Backward(TV.Load(hp + j), d, TV.Load(gh + j), TV.Create(kh.Hi), TV.Create(kh.Lo), TV.Create(kh.R),
            TV.Create(kh.MeanG), TV.Create(kh.MeanGXhat), out TV hhat), dhp + j);
        TV.Store(NormalizeStep.Backward(TV.Load(x + j), d, TV.Load(gi + j), TV.Create(ki.Hi), TV.Create(ki.Lo), TV.Create(ki.R),
            TV.Create(ki.MeanG), TV.Create(ki.MeanGXhat), out TV xhat), dx + j);
        TV.Store(TV.Fma(d, xhat, TV.Load(pgi + j)), pgi + j);
        TV.Store(TV.Fma(d, hhat, TV.Load(pgh + j)), pgh + j);
        TV.Store(TV.Load(psum + j) + d, psum + j);
    }
}
