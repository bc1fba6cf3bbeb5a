using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Vector loops shared by the batch and group normalization kernels. Statistics accumulate in double so that a
/// channel of a million values or a mean far from zero keeps float32 accuracy; element-wise outputs stay in
/// float32 with fused multiply-adds. The scalar remainders use the same fused operations as the vector bodies,
/// so a value's result does not depend on whether it fell in a vector lane or in the tail (which keeps the
/// per-channel "column" loops bitwise independent of how channels are split over threads).
/// </summary>
internal static unsafe class ChannelNormSimd
{
    /// <summary>Σ p[i], accumulated in double.</summary>
    public static double Sum(float* p, nint len)
    {
        nint i = 0;
        double s = 0;
        if (Vector256.IsHardwareAccelerated && len >= 16)
        {
            Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= len - 16; i += 16)
            {
                var v0 = Vector256.Load(p + i);
                var v1 = Vector256.Load(p + i + 8);
                a0 += Vector256.WidenLower(v0);
                a1 += Vector256.WidenUpper(v0);
                a2 += Vector256.WidenLower(v1);
                a3 += Vector256.WidenUpper(v1);
            }
            s = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < len; i++) s += p[i];
        return s;
    }

    /// <summary>Σ (p[i] - mean)², accumulated in double: the second pass of a two-pass variance.</summary>
    public static double SumSquaredDeviation(float* p, nint len, double mean)
    {
        nint i = 0;
        double s = 0;
        if (Vector256.IsHardwareAccelerated && len >= 8)
        {
            var m = Vector256.Create(mean);
            Vector256<double> a0 = default, a1 = default;
            for (; i <= len - 8; i += 8)
            {
                var v = Vector256.Load(p + i);
                var d0 = Vector256.WidenLower(v) - m;
                var d1 = Vector256.WidenUpper(v) - m;
                a0 = Vector256.FusedMultiplyAdd(d0, d0, a0);
                a1 = Vector256.FusedMultiplyAdd(d1, d1, a1);
            }
            s = Vector256.Sum(a0 + a1);
        }
        for (; i < len; i++)
        {
            double d = p[i] - mean;
            s = Math.FusedMultiplyAdd(d, d, s);
        }
        return s;
    }

    /// <summary>
    /// With d = x - <paramref name="shift"/> taken in float32 (exact when x is within a factor two of the shift, as
    /// it is around a mean), adds Σ d, Σ dy and Σ dy·d in double. Shifting by the saved float32 mean keeps the
    /// products small, and Σ d recovers the part of the true mean that the float32 mean rounded away.
    /// </summary>
    public static void AccumulateShifted(float* x, float* dy, nint len, float shift, ref double sumD, ref double sumDy, ref double sumDyD)
    {
        nint i = 0;
        double sd = 0, sg = 0, sgd = 0;
        if (Vector256.IsHardwareAccelerated && len >= 8)
        {
            var k = Vector256.Create(shift);
            Vector256<double> ad0 = default, ad1 = default, ag0 = default, ag1 = default, agd0 = default, agd1 = default;
            for (; i <= len - 8; i += 8)
            {
                var d = Vector256.Load(x + i) - k;
                var g = Vector256.Load(dy + i);
                var d0 = Vector256.WidenLower(d);
                var d1 = Vector256.WidenUpper(d);
                var g0 = Vector256.WidenLower(g);
                var g1 = Vector256.WidenUpper(g);
                ad0 += d0;
                ad1 += d1;
                ag0 += g0;
                ag1 += g1;
                agd0 = Vector256.FusedMultiplyAdd(g0, d0, agd0);
                agd1 = Vector256.FusedMultiplyAdd(g1, d1, agd1);
            }
            sd = Vector256.Sum(ad0 + ad1);
            sg = Vector256.Sum(ag0 + ag1);
            sgd = Vector256.Sum(agd0 + agd1);
        }
        for (; i < len; i++)
        {
            double d = x[i] - shift;
            double g = dy[i];
            sd += d;
            sg += g;
            sgd = Math.FusedMultiplyAdd(g, d, sgd);
        }
        sumD += sd;
        sumDy += sg;
        sumDyD += sgd;
    }

    /// <summary>y = ((x - hi) - lo)·scale + shift, where hi + lo is a double mean split into two floats.</summary>
    public static void Affine(float* x, float* y, nint len, float hi, float lo, float scale, float shift)
    {
        nint i = 0;
        if (Vector256.IsHardwareAccelerated && len >= 8)
        {
            var vh = Vector256.Create(hi);
            var vl = Vector256.Create(lo);
            var vs = Vector256.Create(scale);
            var vb = Vector256.Create(shift);
            for (; i <= len - 8; i += 8)
            {
                var t = (Vector256.Load(x + i) - vh) - vl;
                Vector256.FusedMultiplyAdd(t, vs, vb).Store(y + i);
            }
        }
        for (; i < len; i++) y[i] = MathF.FusedMultiplyAdd((x[i] - hi) - lo, scale, shift);
    }

    /// <summary>dx = coefX·((x - shift) - delta) + coefDy·dy + constant.</summary>
    public static void BackwardApply(float* dy, float* x, float* dx, nint len, float shift, float delta, float coefDy, float coefX, float constant)
    {
        nint i = 0;
        if (Vector256.IsHardwareAccelerated && len >= 8)
        {
            var vk = Vector256.Create(shift);
            var vd = Vector256.Create(delta);
            var vg = Vector256.Create(coefDy);
            var vx = Vector256.Create(coefX);
            var vc = Vector256.Create(constant);
            for (; i <= len - 8; i += 8)
            {
                var t = (Vector256.Load(x + i) - vk) - vd;
                var r = Vector256.FusedMultiplyAdd(vg, Vector256.Load(dy + i), vc);
                Vector256.FusedMultiplyAdd(vx, t, r).Store(dx + i);
            }
        }
        for (; i < len; i++)
        {
            float t = (x[i] - shift) - delta;
            dx[i] = MathF.FusedMultiplyAdd(coefX, t, MathF.FusedMultiplyAdd(coefDy, dy[i], constant));
        }
    }

    // Column variants: one row of `count` channels, each lane its own channel (the [N, C] layout of batch norm).

    /// <summary>acc[j] += row[j] in double.</summary>
    public static void ColumnSum(float* row, double* acc, int count)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= count - 8; j += 8)
            {
                var v = Vector256.Load(row + j);
                (Vector256.Load(acc + j) + Vector256.WidenLower(v)).Store(acc + j);
                (Vector256.Load(acc + j + 4) + Vector256.WidenUpper(v)).Store(acc + j + 4);
            }
        }
        for (; j < count; j++) acc[j] += row[j];
    }

    /// <summary>acc[j] += (row[j] - mean[j])² in double.</summary>
    public static void ColumnSquaredDeviation(float* row, double* mean, double* acc, int count)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= count - 8; j += 8)
            {
                var v = Vector256.Load(row + j);
                var d0 = Vector256.WidenLower(v) - Vector256.Load(mean + j);
                var d1 = Vector256.WidenUpper(v) - Vector256.Load(mean + j + 4);
                Vector256.FusedMultiplyAdd(d0, d0, Vector256.Load(acc + j)).Store(acc + j);
                Vector256.FusedMultiplyAdd(d1, d1, Vector256.Load(acc + j + 4)).Store(acc + j + 4);
            }
        }
        for (; j < count; j++)
        {
            double d = row[j] - mean[j];
            acc[j] = Math.FusedMultiplyAdd(d, d, acc[j]);
        }
    }

    /// <summary>Per channel j, with d = x[j] - shift[j] in float32: sumD[j] += d, sumDy[j] += dy[j], sumDyD[j] += dy[j]·d, in double.</summary>
    public static void ColumnAccumulateShifted(float* x, float* dy, float* shift, double* sumD, double* sumDy, double* sumDyD, int count)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= count - 8; j += 8)
            {
                var d = Vector256.Load(x + j) - Vector256.Load(shift + j);
                var g = Vector256.Load(dy + j);
                var d0 = Vector256.WidenLower(d);
                var d1 = Vector256.WidenUpper(d);
                var g0 = Vector256.WidenLower(g);
                var g1 = Vector256.WidenUpper(g);
                (Vector256.Load(sumD + j) + d0).Store(sumD + j);
                (Vector256.Load(sumD + j + 4) + d1).Store(sumD + j + 4);
                (Vector256.Load(sumDy + j) + g0).Store(sumDy + j);
                (Vector256.Load(sumDy + j + 4) + g1).Store(sumDy + j + 4);
                Vector256.FusedMultiplyAdd(g0, d0, Vector256.Load(sumDyD + j)).Store(sumDyD + j);
                Vector256.FusedMultiplyAdd(g1, d1, Vector256.Load(sumDyD + j + 4)).Store(sumDyD + j + 4);
            }
        }
        for (; j < count; j++)
        {
            double d = x[j] - shift[j];
            double g = dy[j];
            sumD[j] += d;
            sumDy[j] += g;
            sumDyD[j] = Math.FusedMultiplyAdd(g, d, sumDyD[j]);
        }
    }

    /// <summary>y[j] = ((x[j] - hi[j]) - lo[j])·scale[j] + shift[j].</summary>
    public static void ColumnAffine(float* x, float* y, float* hi, float* lo, float* scale, float* shift, int count)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= count - 8; j += 8)
            {
                var t = (Vector256.Load(x + j) - Vector256.Load(hi + j)) - Vector256.Load(lo + j);
                Vector256.FusedMultiplyAdd(t, Vector256.Load(scale + j), Vector256.Load(shift + j)).Store(y + j);
            }
        }
        for (; j < count; j++) y[j] = MathF.FusedMultiplyAdd((x[j] - hi[j]) - lo[j], scale[j], shift[j]);
    }

    /// <summary>dx[j] = coefX[j]·((x[j] - shift[j]) - delta[j]) + coefDy[j]·dy[j] + constant[j].</summary>
    public static void ColumnBackwardApply(float* dy, float* x, float* dx, float* shift, float* delta, float* coefDy, float* coefX, float* constant, int count)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= count - 8; j += 8)
            {
                var t = (Vector256.Load(x + j) - Vector256.Load(shift + j)) - Vector256.Load(delta + j);
                var r = Vector256.FusedMultiplyAdd(Vector256.Load(coefDy + j), Vector256.Load(dy + j), Vector256.Load(constant + j));
                Vector256.FusedMultiplyAdd(Vector256.Load(coefX + j), t, r).Store(dx + j);
            }
        }
        for (; j < count; j++)
        {
            float t = (x[j] - shift[j]) - delta[j];
            dx[j] = MathF.FusedMultiplyAdd(coefX[j], t, MathF.FusedMultiplyAdd(coefDy[j], dy[j], constant[j]));
        }
    }

    /// <summary>Splits <paramref name="value"/> into a float and the float nearest to what that float rounded away.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Split(double value, out float hi, out float lo)
    {
        hi = (float)value;
        lo = (float)(value - hi);
    }
}
