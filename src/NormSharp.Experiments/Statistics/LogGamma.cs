namespace NormSharp.Experiments.Statistics;

/// <summary>The natural logarithm of the gamma function, the building block of the beta and t distributions.</summary>
public static class LogGamma
{
    // Lanczos approximation with g = 7 and nine terms: relative error below 1e-15 for positive arguments.
    private const double G = 7;
    private static readonly double[] Coefficients =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>ln Γ(<paramref name="x"/>) for <paramref name="x"/> &gt; 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="x"/> is not a positive finite number.</exception>
    public static double Of(double x)
    {
        if (!(x > 0) || double.IsPositiveInfinity(x))
            throw new ArgumentOutOfRangeException(nameof(x), x, "ln Γ(x) is computed for positive finite x only.");
        // Γ(x) = Γ(x + 1)/x keeps the series in its accurate range for small arguments.
        if (x < 0.5) return Of(x + 1) - Math.Log(x);
        x -= 1;
        double sum = Coefficients[0];
        for (int i = 1; i < Coefficients.Length; i++) sum += Coefficients[i] / (x + i);
        double t = x + G + 0.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
