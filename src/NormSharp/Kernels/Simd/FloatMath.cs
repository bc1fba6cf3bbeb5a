using System.Runtime.CompilerServices;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// Transcendental functions written once against <see cref="IFloatVector{TSelf}"/>, so the 512-, 256-, 128-bit and
/// scalar forms (tails included) give the same bits: only additions, fused multiply-adds, divisions, selects and
/// exponent construction, no platform library call. Accuracy is a few float ulps.
/// </summary>
internal static class FloatMath<TV> where TV : unmanaged, IFloatVector<TV>
{
    /// <summary>Adding then subtracting 1.5·2²³ rounds a float of magnitude below 2²² to the nearest whole number.</summary>
    private const float RoundingMagic = 12582912f;

    /// <summary>Below this e^x is under the smallest normal float; the result is flushed to zero rather than made subnormal.</summary>
    private const float ExpLowest = -87.3365f;

    /// <summary>Above this e^x overflows float.</summary>
    private const float ExpHighest = 88.72283f;

    /// <summary>e^x (Cephes' reduction and polynomial): +∞ above ~88.72, 0 below ~−87.34, NaN for NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp(TV x)
    {
        var xc = TV.Max(TV.Min(x, TV.Create(ExpHighest)), TV.Create(ExpLowest));
        var magic = TV.Create(RoundingMagic);
        var n = (xc * TV.Create(1.44269504088896341f) + magic) - magic;
        // r = x − n·ln 2 with ln 2 split in two so the product with n is exact in the first part.
        var r = TV.Fma(n, TV.Create(-0.693359375f), xc);
        r = TV.Fma(n, TV.Create(2.12194440e-4f), r);
        var p = TV.Fma(TV.Create(1.9875691500e-4f), r, TV.Create(1.3981999507e-3f));
        p = TV.Fma(p, r, TV.Create(8.3334519073e-3f));
        p = TV.Fma(p, r, TV.Create(4.1665795894e-2f));
        p = TV.Fma(p, r, TV.Create(1.6666665459e-1f));
        p = TV.Fma(p, r, TV.Create(5.0000001201e-1f));
        var e = TV.Fma(p, r * r, r) + TV.Create(1f);
        // 2ⁿ as two factors, so that n = 128 (x just below the overflow bound) needs no exponent out of range.
        var half = ((n * TV.Create(0.5f) - TV.Create(0.25f)) + magic) - magic;
        var y = e * TV.Pow2(half) * TV.Pow2(n - half);
        y = TV.Select(TV.GreaterThan(x, TV.Create(ExpHighest)), TV.Create(float.PositiveInfinity), y);
        return TV.Select(TV.LessThan(x, TV.Create(ExpLowest)), TV.Zero, y);
    }

    /// <summary>tanh x: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) with the sign of x above.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh(TV x)
    {
        var z = x * x;
        var p = TV.Fma(TV.Create(-5.70498872745e-3f), z, TV.Create(2.06390887954e-2f));
        p = TV.Fma(p, z, TV.Create(-5.37397155531e-2f));
        p = TV.Fma(p, z, TV.Create(1.33314422036e-1f));
        p = TV.Fma(p, z, TV.Create(-3.33332819422e-1f));
        var small = TV.Fma(p * z, x, x);
        var ax = TV.Abs(x);
        var one = TV.Create(1f);
        var large = one - TV.Create(2f) / (Exp(ax + ax) + one);
        large = TV.Select(TV.LessThan(x, TV.Zero), TV.Zero - large, large);
        return TV.Select(TV.LessThan(ax, TV.Create(0.625f)), small, large);
    }

    /// <summary>1/(1 + e^−x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid(TV x)
    {
        var one = TV.Create(1f);
        return one / (one + Exp(TV.Zero - x));
    }

    /// <summary>
    /// erf x through the complementary error function's Chebyshev fit (Numerical Recipes' erfcc, fractional error
    /// below 1.2e-7), evaluated in float: absolute error a few 1e-7.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Erf(TV x)
    {
        var z = TV.Abs(x);
        var one = TV.Create(1f);
        var t = one / TV.Fma(TV.Create(0.5f), z, one);
        var p = TV.Fma(TV.Create(0.17087277f), t, TV.Create(-0.82215223f));
        p = TV.Fma(p, t, TV.Create(1.48851587f));
        p = TV.Fma(p, t, TV.Create(-1.13520398f));
        p = TV.Fma(p, t, TV.Create(0.27886807f));
        p = TV.Fma(p, t, TV.Create(-0.18628806f));
        p = TV.Fma(p, t, TV.Create(0.09678418f));
        p = TV.Fma(p, t, TV.Create(0.37409196f));
        p = TV.Fma(p, t, TV.Create(1.00002368f));
        p = TV.Fma(p, t, TV.Create(-1.26551223f));
        var erfc = t * Exp(p - z * z);
        var e = one - erfc;
        return TV.Select(TV.LessThan(x, TV.Zero), TV.Zero - e, e);
    }

    /// <summary>Φ(x) = (1 + erf(x/√2))/2, the standard normal distribution function.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV NormalCdf(TV x) => TV.Create(0.5f) * (TV.Create(1f) + Erf(x * TV.Create(0.70710678118654752f)));

    /// <summary>φ(x) = e^{−x²/2}/√(2π), the standard normal density.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV NormalPdf(TV x) => Exp(x * x * TV.Create(-0.5f)) * TV.Create(0.39894228040143268f);

    /// <summary>√(2/π)·(x + 0.044715·x³): the argument of tanh in GELU's tanh form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV GeluTanhArgument(TV x) => TV.Create(0.7978845608028654f) * TV.Fma(TV.Create(0.044715f) * x * x, x, x);
}
