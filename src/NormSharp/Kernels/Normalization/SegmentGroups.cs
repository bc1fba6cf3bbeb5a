using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The segment layout of the normalization core: a group made of <c>segments</c> contiguous runs of <c>length</c>
/// values, <c>stride</c> apart, each run belonging to one channel whose weight and bias apply to all of it.
/// GroupNorm's (sample, group) block is cpg runs of the spatial size, channels 0..cpg−1 of the group (channel step 1);
/// a BatchNorm channel of an [N, C, L] input is N runs of L, all of one channel (channel step 0).
/// Statistics, apply and backward are the core's (<see cref="Moments"/>, <see cref="NormalizeStep"/>).
/// </summary>
internal static unsafe class SegmentGroups
{
    /// <summary>The group's mean, biased variance and rstd, with its first value as the pivot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Statistics<TV>(float* x, nint stride, int segments, int length, float eps, out double mean, out double variance, out float rstd)
        where TV : unmanaged, IFloatVector<TV>
    {
        float pivot = x[0];
        double s1 = 0, s2 = 0;
        for (int k = 0; k < segments; k++) Moments.Accumulate<TV>(x + k * stride, length, pivot, ref s1, ref s2);
        Moments.Finish(pivot, s1, s2, (double)segments * length, eps, out mean, out variance, out rstd);
    }

    /// <summary>y = x̂·w[ch] + b[ch] over every run, run k having channel channel0 + k·channelStep.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward<TV>(float* x, float* y, nint stride, int segments, int length, float hi, float lo, float r,
        float* w, float* b, int channel0, int channelStep) where TV : unmanaged, IFloatVector<TV>
    {
        for (int k = 0; k < segments; k++)
        {
            int ch = channel0 + k * channelStep;
            var wv = new Constant<TV>(TV.Create(w == null ? 1f : w[ch]));
            var bv = new Constant<TV>(TV.Create(b == null ? 0f : b[ch]));
            NormalizeStep.ForwardRun<TV, Constant<TV>, Constant<TV>>(x + k * stride, y + k * stride, length, hi, lo, r, wv, bv);
        }
    }

    /// <summary>
    /// Per run k, adds Σdy and Σdy·(x − hi) to sumDy[k·slotStep] and sumDyD[k·slotStep]; returns Σ(x − hi) over all runs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Sums<TV>(float* x, float* dy, nint stride, int segments, int length, float hi, double* sumDy, double* sumDyD, int slotStep)
        where TV : unmanaged, IFloatVector<TV>
    {
        double sumD = 0;
        var one = new Constant<TV>(TV.Create(1f));
        for (int k = 0; k < segments; k++)
        {
            var terms = new GradientTerms<TV, Constant<TV>, Yes> { X = x + k * stride, Dy = dy + k * stride, W = one, Hi = TV.Create(hi) };
            LaneSums.Run<TV, GradientTerms<TV, Constant<TV>, Yes>>(terms, length, out double sg, out double sgd, out double sd);
            sumDy[k * slotStep] += sg;
            sumDyD[k * slotStep] += sgd;
            sumD += sd;
        }
        return sumD;
    }

    /// <summary>dx = r·((dy·w[ch] − mg) − x̂·mgx) over every run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward<TV>(float* x, float* dy, float* dx, nint stride, int segments, int length, in RowConstants k,
        float* w, int channel0, int channelStep) where TV : unmanaged, IFloatVector<TV>
    {
        for (int s = 0; s < segments; s++)
        {
            int ch = channel0 + s * channelStep;
            var wv = new Constant<TV>(TV.Create(w == null ? 1f : w[ch]));
            NormalizeStep.BackwardRun<TV, Constant<TV>>(x + s * stride, dy + s * stride, dx + s * stride, length, k, wv);
        }
    }
}
