using System.Runtime.CompilerServices;
using NormSharp.Kernels.Normalization;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The backward of one layer-normalized group inside a recurrent row (a block of gates), as
/// <see cref="LayerNormKernels.Backward"/> computes it for a row: the group's sums first (<see cref="GradientTerms{TV, TW, TCentered}"/>),
/// then dx = r·((dy·γ − mean(g)) − x̂·mean(g·x̂)), with the gain's partial Σ dy·x̂ and, when wanted, the shift's Σ dy
/// added to the chunk's partial sums.
/// </summary>
internal static unsafe class NormBackward
{
    /// <summary>The normalization's backward sums over one group of <paramref name="n"/> values.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static RowConstants Constants<TV>(float* x, float* dy, float* gain, float hi, float rstd, int n) where TV : unmanaged, IFloatVector<TV>
    {
        var terms = new GradientTerms<TV, Stream<TV>, Yes> { X = x, Dy = dy, W = new Stream<TV>(gain), Hi = TV.Create(hi) };
        LaneSums.Run<TV, GradientTerms<TV, Stream<TV>, Yes>>(terms, n, out double sg, out double sgd, out double sd);
        return RowConstants.From(true, hi, rstd, sg, sgd, sd, n);
    }

    /// <summary>
    /// dx of one group of <paramref name="n"/> values from dy, with Σ dy·x̂ added to <paramref name="gainPartial"/> and (unless null)
    /// Σ dy to <paramref name="shiftPartial"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Group<TV>(float* x, float* dy, float* gain, float hi, float rstd, int n, float* dx, float* gainPartial, float* shiftPartial)
        where TV : unmanaged, IFloatVector<TV>
    {
        var k = Constants<TV>(x, dy, gain, hi, rstd, n);
        int w = TV.Count;
        int full = n - n % w;
        for (nint j = 0; j < full; j += w) Body<TV>(j, x, dy, gain, dx, gainPartial, shiftPartial, k);
        if (full < n) Tail<TV>(full, n - full, x, dy, gain, dx, gainPartial, shiftPartial, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Body<TV>(nint j, float* x, float* dy, float* gain, float* dx, float* pg, float* ps, in RowConstants k) where TV : unmanaged, IFloatVector<TV>
    {
        TV d = TV.Load(dy + j);
        TV.Store(NormalizeStep.Backward(TV.Load(x + j), d, TV.Load(gain + j), TV.Create(k.Hi), TV.Create(k.Lo), TV.Create(k.R),
            TV.Create(k.MeanG), TV.Create(k.MeanGXhat), out TV xhat), dx + j);
        TV.Store(TV.Fma(d, xhat, TV.Load(pg + j)), pg + j);
        if (ps != null) TV.Store(TV.Load(ps + j) + d, ps + j);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private static void Tail<TV>(nint j0, int count, float* x, float* dy, float* gain, float* dx, float* pg, float* ps, in RowConstants k) where TV : unmanaged, IFloatVector<TV>
    {
        int w = TV.Count;
        float* s = stackalloc float[6 * 16];
        float* xi = RowImage.In(x, 0, 1, j0, count, s, w);
        float* yi = RowImage.In(dy, 0, 1, j0, count, s + w, w);
        float* wi = RowImage.In(gain, 0, 1, j0, count, s + 2 * w, w);
        float* xo = RowImage.Out(1, j0, s + 3 * w, w);
        float* pgi = RowImage.In(pg, 0, 1, j0, count, s + 4 * w, w);
        float* psi = ps == null ? null : RowImage.In(ps, 0, 1, j0, count, s + 5 * w, w);
        Body<TV>(j0, xi, yi, wi, xo, pgi, psi, k);
        RowImage.Back(xo, dx, 0, 1, j0, count, w);
        RowImage.Back(pgi, pg, 0, 1, j0, count, w);
        if (ps != null) RowImage.Back(psi, ps, 0, 1, j0, count, w);
    }
}
