namespace NormSharp.Experiments.Statistics;

/// <summary>
/// Student's t distribution with ν degrees of freedom: its distribution function through the regularized
/// incomplete beta function, and its quantiles by solving CDF(t) = p (safeguarded Newton steps). The
/// confidence interval of a mean over n seeds uses the quantile at ν = n − 1.
/// </summary>
public static class StudentT
{
    /// <summary>P(T ≤ <paramref name="t"/>) for ν = <paramref name="degreesOfFreedom"/> &gt; 0 (not necessarily whole).</summary>
    public static double Cdf(double t, double degreesOfFreedom)
    {
        CheckDf(degreesOfFreedom);
        if (double.IsNaN(t)) return double.NaN;
        if (double.IsPositiveInfinity(t)) return 1;
        if (double.IsNegativeInfinity(t)) return 0;
        double nu = degreesOfFreedom, t2 = t * t;
        if (t2 < nu)
        {
            // Near the centre: P(|T| < |t|) = I_(t²/(ν+t²))(1/2, ν/2), without the cancellation of 1 − tail.
            double central = 0.5 * IncompleteBeta.Regularized(0.5, nu / 2, t2 / (nu + t2));
            return t > 0 ? 0.5 + central : 0.5 - central;
        }
        // In the tails: P(|T| > |t|) = I_(ν/(ν+t²))(ν/2, 1/2).
        double tail = 0.5 * IncompleteBeta.Regularized(nu / 2, 0.5, nu / (nu + t2));
        return t > 0 ? 1 - tail : tail;
    }

    /// <summary>The density at <paramref name="t"/>.</summary>
    public static double Density(double t, double degreesOfFreedom)
    {
        CheckDf(degreesOfFreedom);
        double nu = degreesOfFreedom;
        double logNorm = LogGamma.Of((nu + 1) / 2) - LogGamma.Of(nu / 2) - 0.5 * Math.Log(nu * Math.PI);
        return Math.Exp(logNorm - (nu + 1) / 2 * Math.Log(1 + t * t / nu));
    }

    /// <summary>The <paramref name="p"/>-quantile: the t with CDF(t) = p, for 0 &lt; p &lt; 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">p is outside (0, 1) or ν is not positive.</exception>
    public static double Quantile(double p, double degreesOfFreedom)
    {
        CheckDf(degreesOfFreedom);
        if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "a quantile needs a probability strictly between 0 and 1.");
        if (p == 0.5) return 0;
        if (p < 0.5) return -Quantile(1 - p, degreesOfFreedom);
        double nu = degreesOfFreedom;
        // Closed forms for one and two degrees of freedom (Cauchy; ν = 2).
        if (nu == 1) return Math.Tan(Math.PI * (p - 0.5));
        if (nu == 2) return (2 * p - 1) / Math.Sqrt(2 * p * (1 - p));
        // Bracket the root: CDF is increasing, CDF(0) = 0.5 < p.
        double lo = 0, hi = 1;
        while (Cdf(hi, nu) < p)
        {
            lo = hi;
            hi *= 2;
            if (hi > 1e300) return double.PositiveInfinity;
        }
        double t = 0.5 * (lo + hi);
        for (int i = 0; i < 200; i++)
        {
            double f = Cdf(t, nu) - p;
            if (f == 0) return t;
            if (f < 0) lo = t; else hi = t;
            double next = t - f / Density(t, nu);
            // A Newton step that leaves the bracket is replaced by bisection.
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (Math.Abs(next - t) <= 1e-14 * Math.Max(1, Math.Abs(t))) return next;
            t = next;
        }
        return t;
    }

    private static void CheckDf(double degreesOfFreedom)
    {
        if (!(degreesOfFreedom > 0) || double.IsPositiveInfinity(degreesOfFreedom))
            throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "degrees of freedom must be positive and finite.");
    }
}
