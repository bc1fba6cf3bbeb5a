using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The element-wise steps every normalization shares, forward and backward side by side. With the group's mean as
/// hi + lo (<see cref="Moments.Split"/>) and r its rstd (or RMSNorm's 1/rms with hi = lo = 0):
/// x̂ = ((x − hi) − lo)·r and y = x̂·w + b (one rounding). Backward, with g = dy·w over the group,
/// mg = mean(g) and mgx = mean(g·x̂): dx = r·((g − mg) − x̂·mgx), dw += dy·x̂, db += dy.
/// A missing weight is w = 1 and a missing bias b = 0, which give the same bits as leaving them out.
/// </summary>
internal static unsafe class NormalizeStep
{
    /// <summary>x̂ = ((x − hi) − lo)·r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Normalized<TV>(TV x, TV hi, TV lo, TV r) where TV : unmanaged, IFloatVector<TV> => ((x - hi) - lo) * r;

    /// <summary>y = x̂·w + b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Forward<TV>(TV x, TV hi, TV lo, TV r, TV w, TV b) where TV : unmanaged, IFloatVector<TV> =>
        TV.Fma(Normalized(x, hi, lo, r), w, b);

    /// <summary>dx = r·((dy·w − mg) − x̂·mgx), with x̂ returned for the parameter gradients.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Backward<TV>(TV x, TV dy, TV w, TV hi, TV lo, TV r, TV mg, TV mgx, out TV xhat) where TV : unmanaged, IFloatVector<TV>
    {
        xhat = Normalized(x, hi, lo, r);
        return r * ((dy * w - mg) - xhat * mgx);
    }

    /// <summary>
    /// y = x̂·w + b over one contiguous run of a group (a row, or one channel's segment with broadcast w and b),
    /// prefetching the same span of <paramref name="prefetch"/> (the data the caller reads next) unless it is null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ForwardRun<TV, TW, TB>(float* x, float* y, nint n, float hi, float lo, float r, TW w, TB b, float* prefetch = null)
        where TV : unmanaged, IFloatVector<TV>
        where TW : struct, IOperand<TW, TV>
        where TB : struct, IOperand<TB, TV>
    {
        int width = TV.Count;
        TV hv = TV.Create(hi), lv = TV.Create(lo), rv = TV.Create(r);
        nint i = 0;
        if (prefetch != null)
        {
            for (; i <= n - width; i += width)
            {
                Prefetch.Read(prefetch + i);
                TV.Store(Forward(TV.Load(x + i), hv, lv, rv, w.Load(i), b.Load(i)), y + i);
            }
        }
        for (; i <= n - width; i += width)
            TV.Store(Forward(TV.Load(x + i), hv, lv, rv, w.Load(i), b.Load(i)), y + i);
        if (i < n) ForwardRemainder<TV, TW, TB>(x, y, i, (int)(n - i), hv, lv, rv, w, b);
    }

    /// <summary>The last, partial vector of <see cref="ForwardRun"/>, on a padded copy.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ForwardRemainder<TV, TW, TB>(float* x, float* y, nint i, int count, TV hv, TV lv, TV rv, TW w, TB b)
        where TV : unmanaged, IFloatVector<TV>
        where TW : struct, IOperand<TW, TV>
        where TB : struct, IOperand<TB, TV>
    {
        int width = TV.Count;
        float* scratch = stackalloc float[4 * 16];
        float* xs = Padding.Copy(x, i, count, scratch, width, 0f);
        var ws = w.Padded(i, count, scratch + 16, width, 0f);
        var bs = b.Padded(i, count, scratch + 32, width, 0f);
        TV.Store(Forward(TV.Load(xs + i), hv, lv, rv, ws.Load(i), bs.Load(i)), scratch + 48);
        for (int j = 0; j < count; j++) y[i + j] = scratch[48 + j];
    }

    /// <summary>dx = r·((dy·w − mg) − x̂·mgx) over one contiguous run of a group, without parameter gradients.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BackwardRun<TV, TW>(float* x, float* dy, float* dx, nint n, in RowConstants k, TW w)
        where TV : unmanaged, IFloatVector<TV>
        where TW : struct, IOperand<TW, TV>
    {
        int width = TV.Count;
        TV hv = TV.Create(k.Hi), lv = TV.Create(k.Lo), rv = TV.Create(k.R), mg = TV.Create(k.MeanG), mgx = TV.Create(k.MeanGXhat);
        nint i = 0;
        for (; i <= n - width; i += width)
            TV.Store(Backward(TV.Load(x + i), TV.Load(dy + i), w.Load(i), hv, lv, rv, mg, mgx, out _), dx + i);
        if (i < n) BackwardRemainder<TV, TW>(x, dy, dx, i, (int)(n - i), hv, lv, rv, mg, mgx, w);
    }

    /// <summary>The last, partial vector of <see cref="BackwardRun"/>, on a padded copy.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BackwardRemainder<TV, TW>(float* x, float* dy, float* dx, nint i, int count, TV hv, TV lv, TV rv, TV mg, TV mgx, TW w)
        where TV : unmanaged, IFloatVector<TV>
        where TW : struct, IOperand<TW, TV>
    {
        int width = TV.Count;
        float* scratch = stackalloc float[4 * 16];
        float* xs = Padding.Copy(x, i, count, scratch, width, 0f);
        float* gs = Padding.Copy(dy, i, count, scratch + 16, width, 0f);
        var ws = w.Padded(i, count, scratch + 32, width, 0f);
        TV.Store(Backward(TV.Load(xs + i), TV.Load(gs + i), ws.Load(i), hv, lv, rv, mg, mgx, out _), scratch + 48);
        for (int j = 0; j < count; j++) dx[i + j] = scratch[48 + j];
    }
}

/// <summary>A group's constants for the backward: its mean as hi + lo, its r, and mean(g), mean(g·x̂).</summary>
internal struct RowConstants
{
    public float Hi, Lo, R, MeanG, MeanGXhat;

    /// <summary>
    /// From the sums of <see cref="GradientTerms{TV, TW, TCentered}"/> over <paramref name="count"/> values:
    /// lo = Σd/n (what the saved float mean rounded away), mean(g) = Σg/n, mean(g·x̂) = r·(Σg·d − lo·Σg)/n.
    /// Without centring, mean(g) = 0 and mean(g·x̂) = r·Σg·x/n.
    /// </summary>
    public static RowConstants From(bool centered, float hi, float r, double sumG, double sumGD, double sumD, double count)
    {
        if (!centered)
            return new RowConstants { R = r, MeanGXhat = (float)(r * sumG / count) };
        double lo = sumD / count;
        return new RowConstants
        {
            Hi = hi,
            Lo = (float)lo,
            R = r,
            MeanG = (float)(sumG / count),
            MeanGXhat = (float)(r * (sumGD - lo * sumG) / count),
        };
    }
}

/// <summary>
/// The backward's sums over a group, with d = x − hi (hi the saved float mean) and g = dy·w: Σg, Σg·d and Σd when
/// centred; only Σg·x (in the first sum) for RMSNorm.
/// </summary>
internal unsafe struct GradientTerms<TV, TW, TCentered> : ISumTerms<GradientTerms<TV, TW, TCentered>, TV>
    where TV : unmanaged, IFloatVector<TV>
    where TW : struct, IOperand<TW, TV>
    where TCentered : struct, IFlag
{
    public float* X, Dy;
    public TW W;
    public TV Hi;

    public static int Sums => TCentered.Value ? 3 : 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Sums3<TV> Add(nint i, Sums3<TV> s)
    {
        var g = TV.Load(Dy + i) * W.Load(i);
        if (!TCentered.Value) return new Sums3<TV> { A = TV.Fma(g, TV.Load(X + i), s.A) };
        var d = TV.Load(X + i) - Hi;
        return new Sums3<TV> { A = s.A + g, B = TV.Fma(g, d, s.B), C = s.C + d };
    }

    public readonly GradientTerms<TV, TW, TCentered> Padded(nint start, int count, float* scratch) => this with
    {
        X = LaneSums.Pad(X, start, count, scratch, TV.First(Hi)),
        Dy = LaneSums.Pad(Dy, start, count, scratch + LaneSums.Lanes, 0f),
        W = W.Padded(start, count, scratch + 2 * LaneSums.Lanes, LaneSums.Lanes, 0f),
    };
}
