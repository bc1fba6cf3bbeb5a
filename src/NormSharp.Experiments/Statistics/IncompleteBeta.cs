namespace NormSharp.Experiments.Statistics;

/// <summary>
/// The regularized incomplete beta function I_x(a, b) = B(x; a, b)/B(a, b), through which the Student t
/// (and F, binomial) distribution functions are computed.
/// </summary>
public static class IncompleteBeta
{
    private const int MaxIterations = 10_000;
    private const double Epsilon = 1e-16;
    private const double Tiny = 1e-300;

    /// <summary>I_<paramref name="x"/>(<paramref name="a"/>, <paramref name="b"/>) for a, b &gt; 0 and 0 ≤ x ≤ 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A shape is not positive and finite, or x lies outside [0, 1].</exception>
    public static double Regularized(double a, double b, double x)
    {
        if (!(a > 0) || !double.IsFinite(a)) throw new ArgumentOutOfRangeException(nameof(a), a, "the shape a must be positive and finite.");
        if (!(b > 0) || !double.IsFinite(b)) throw new ArgumentOutOfRangeException(nameof(b), b, "the shape b must be positive and finite.");
        if (!(x >= 0 && x <= 1)) throw new ArgumentOutOfRangeException(nameof(x), x, "x must lie in [0, 1].");
        if (x == 0) return 0;
        if (x == 1) return 1;
        double front = Math.Exp(LogGamma.Of(a + b) - LogGamma.Of(a) - LogGamma.Of(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        // The continued fraction converges fast for x below the mean (a + 1)/(a + b + 2); above it, use the symmetry
        // I_x(a, b) = 1 − I_(1−x)(b, a).
        return x < (a + 1) / (a + b + 2)
            ? front * ContinuedFraction(a, b, x) / a
            : 1 - front * ContinuedFraction(b, a, 1 - x) / b;
    }

    /// <summary>The continued fraction of I_x(a, b), evaluated by the modified Lentz method.</summary>
    private static double ContinuedFraction(double a, double b, double x)
    {
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < Tiny) d = Tiny;
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= MaxIterations; m++)
        {
            int m2 = 2 * m;
            // Even term.
            double num = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
            d = 1 + num * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + num / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            h *= d * c;
            // Odd term.
            num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
            d = 1 + num * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + num / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            double step = d * c;
            h *= step;
            if (Math.Abs(step - 1) < Epsilon) return h;
        }
        throw new ArithmeticException($"the incomplete beta continued fraction did not converge for a = {a}, b = {b}, x = {x}.");
    }
}
