namespace NormSharp.Kernels.Simd;

/// <summary>
/// Double-precision functions computed with IEEE arithmetic only, so they give the same bits on every machine (the
/// platform's math library may differ between processors and library versions).
/// </summary>
internal static class ScalarMath
{
    /// <summary>
    /// Natural logarithm of a double: x = m·2^e with m in [√½, √2), then ln m = 2·atanh(s), s = (m − 1)/(m + 1),
    /// by its odd series to s²¹ (|s| ≤ 0.172, so the first omitted term is below 1e-17 of the result).
    /// NaN for NaN and negative x, −∞ for 0, +∞ for +∞.
    /// </summary>
    public static double Log(double x)
    {
        if (double.IsNaN(x) || x < 0) return double.NaN;
        if (x == 0) return double.NegativeInfinity;
        if (double.IsPositiveInfinity(x)) return x;
        long bits = BitConverter.DoubleToInt64Bits(x);
        int e = (int)((bits >> 52) & 0x7FF);
        if (e == 0)
        {
            // Subnormal: scale into the normal range first.
            x *= 18014398509481984.0; // 2^54
            bits = BitConverter.DoubleToInt64Bits(x);
            e = (int)((bits >> 52) & 0x7FF) - 54;
        }
        int exponent = e - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L);
        if (m > 1.4142135623730951)
        {
            m *= 0.5;
            exponent++;
        }
        double s = (m - 1) / (m + 1), z = s * s;
        double series = 1.0 / 21;
        for (int k = 19; k >= 1; k -= 2) series = series * z + 1.0 / k;
        const double Ln2Hi = 0.693147180369123816490, Ln2Lo = 1.90821492927058770002e-10;
        return exponent * Ln2Hi + (2 * s * series + exponent * Ln2Lo);
    }

    /// <summary>x^n for a whole n ≥ 0 by repeated squaring.</summary>
    public static double PowInt(double x, long n)
    {
        double result = 1, p = x;
        while (n > 0)
        {
            if ((n & 1) != 0) result *= p;
            p *= p;
            n >>= 1;
        }
        return result;
    }
}
