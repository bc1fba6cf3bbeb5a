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
    /// y = x̂·w + b over n consecutive elements: a row or a segment (constants broadcast), or one row of a
    /// channels-as-columns layout (constants per lane).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ForwardRun<TV, TK, TW, TB>(float* x, float* y, nint n, TK k, TW w, TB b)
        where TV : unmanaged, IFloatVector<TV>
        where TK : struct, IGroupConstants<TK, TV>
        where TW : struct, IOperand<TW, TV>
        where TB : struct, IOperand<TB, TV>
    {
        int width = TV.Count;
        nint i = 0;
        for (; i <= n - width; i += width)
            TV.Store(Forward(TV.Load(x + i), k.Hi(i), k.Lo(i), k.R(i), w.Load(i), b.Load(i)), y + i);
        if (i < n)
        {
            int count = (int)(n - i);
            float* scratch = stackalloc float[4 * 16 + GroupConstantsScratch];
            float* xs = Padding.Copy(x, i, count, scratch, width, 0f);
            var ws = w.Padded(i, count, scratch + 16, width, 0f);
            var bs = b.Padded(i, count, scratch + 32, width, 0f);
            var ks = k.Padded(i, count, scratch + 64, width);
            TV.Store(Forward(TV.Load(xs + i), ks.Hi(i), ks.Lo(i), ks.R(i), ws.Load(i), bs.Load(i)), scratch + 48);
            for (int j = 0; j < count; j++) y[i + j] = scratch[48 + j];
        }
    }

    /// <summary>dx = r·((dy·w − mg) − x̂·mgx) over n consecutive elements, without parameter gradients.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BackwardRun<TV, TK, TW>(float* x, float* dy, float* dx, nint n, TK k, TW w)
        where TV : unmanaged, IFloatVector<TV>
        where TK : struct, IGroupConstants<TK, TV>
        where TW : struct, IOperand<TW, TV>
    {
        int width = TV.Count;
        nint i = 0;
        for (; i <= n - width; i += width)
            TV.Store(Backward(TV.Load(x + i), TV.Load(dy + i), w.Load(i), k.Hi(i), k.Lo(i), k.R(i), k.MeanG(i), k.MeanGXhat(i), out _), dx + i);
        if (i < n)
        {
            int count = (int)(n - i);
            float* scratch = stackalloc float[4 * 16 + GroupConstantsScratch];
            float* xs = Padding.Copy(x, i, count, scratch, width, 0f);
            float* gs = Padding.Copy(dy, i, count, scratch + 16, width, 0f);
            var ws = w.Padded(i, count, scratch + 32, width, 0f);
            var ks = k.Padded(i, count, scratch + 64, width);
            TV.Store(Backward(TV.Load(xs + i), TV.Load(gs + i), ws.Load(i), ks.Hi(i), ks.Lo(i), ks.R(i), ks.MeanG(i), ks.MeanGXhat(i), out _), scratch + 48);
            for (int j = 0; j < count; j++) dx[i + j] = scratch[48 + j];
        }
    }

    /// <summary>Floats an <see cref="IGroupConstants{TSelf, TV}.Padded"/> copy may use.</summary>
    public const int GroupConstantsScratch = 5 * 16;
}

/// <summary>
/// A group's constants as seen by the element-wise steps: the mean as hi + lo, r, mean(g) and mean(g·x̂), either one
/// value for the whole run (<see cref="BroadcastConstants{TV}"/>) or one per lane (<see cref="PerChannelConstants{TV}"/>).
/// </summary>
internal unsafe interface IGroupConstants<TSelf, TV>
    where TSelf : struct, IGroupConstants<TSelf, TV>
    where TV : unmanaged, IFloatVector<TV>
{
    TV Hi(nint i);
    TV Lo(nint i);
    TV R(nint i);
    TV MeanG(nint i);
    TV MeanGXhat(nint i);

    /// <summary>The constants of elements [start, start + count) copied into <paramref name="scratch"/> (up to five runs of 16) and padded to <paramref name="length"/>.</summary>
    TSelf Padded(nint start, int count, float* scratch, int length);
}

/// <summary>One group's constants for every element of a run.</summary>
internal readonly unsafe struct BroadcastConstants<TV> : IGroupConstants<BroadcastConstants<TV>, TV> where TV : unmanaged, IFloatVector<TV>
{
    private readonly TV _hi, _lo, _r, _mg, _mgx;

    public BroadcastConstants(in RowConstants k)
    {
        _hi = TV.Create(k.Hi);
        _lo = TV.Create(k.Lo);
        _r = TV.Create(k.R);
        _mg = TV.Create(k.MeanG);
        _mgx = TV.Create(k.MeanGXhat);
    }

    public TV Hi(nint i) => _hi;
    public TV Lo(nint i) => _lo;
    public TV R(nint i) => _r;
    public TV MeanG(nint i) => _mg;
    public TV MeanGXhat(nint i) => _mgx;
    public BroadcastConstants<TV> Padded(nint start, int count, float* scratch, int length) => this;
}

/// <summary>Per-lane constants: lane j belongs to channel j (the [N, C] layout of batch normalization).</summary>
internal readonly unsafe struct PerChannelConstants<TV>(float* hi, float* lo, float* r, float* mg, float* mgx)
    : IGroupConstants<PerChannelConstants<TV>, TV> where TV : unmanaged, IFloatVector<TV>
{
    public TV Hi(nint i) => TV.Load(hi + i);
    public TV Lo(nint i) => TV.Load(lo + i);
    public TV R(nint i) => TV.Load(r + i);
    public TV MeanG(nint i) => TV.Load(mg + i);
    public TV MeanGXhat(nint i) => TV.Load(mgx + i);

    public PerChannelConstants<TV> Padded(nint start, int count, float* scratch, int length) => new(
        Padding.Copy(hi, start, count, scratch, length, 0f),
        Padding.Copy(lo, start, count, scratch + 16, length, 0f),
        Padding.Copy(r, start, count, scratch + 32, length, 0f),
        mg == null ? null : Padding.Copy(mg, start, count, scratch + 48, length, 0f),
        mgx == null ? null : Padding.Copy(mgx, start, count, scratch + 64, length, 0f));
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
    public float Hi;
    public TV HiV;

    public static int Sums => TCentered.Value ? 3 : 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Add(nint i, ref TV s0, ref TV s1, ref TV s2)
    {
        var g = TV.Load(Dy + i) * W.Load(i);
        if (TCentered.Value)
        {
            var d = TV.Load(X + i) - HiV;
            s0 += g;
            s1 = TV.Fma(g, d, s1);
            s2 += d;
        }
        else
        {
            s0 = TV.Fma(g, TV.Load(X + i), s0);
        }
    }

    public readonly GradientTerms<TV, TW, TCentered> Padded(nint start, int count, float* scratch) => this with
    {
        X = LaneSums.Pad(X, start, count, scratch, Hi),
        Dy = LaneSums.Pad(Dy, start, count, scratch + LaneSums.Lanes, 0f),
        W = W.Padded(start, count, scratch + 2 * LaneSums.Lanes, LaneSums.Lanes, 0f),
    };
}
