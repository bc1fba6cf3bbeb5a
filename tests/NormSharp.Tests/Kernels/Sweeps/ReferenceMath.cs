namespace NormSharp.Tests.Kernels.Sweeps;

/// <summary>Double-precision references the kernels' float functions are checked against.</summary>
internal static class ReferenceMath
{
    /// <summary>erf z: its Maclaurin series below |z| = 2.5, the continued fraction of erfc above (relative error below 1e-12).</summary>
    public static double Erf(double z)
    {
        double a = Math.Abs(z);
        double result;
        if (a < 2.5)
        {
            double term = a, sum = a, z2 = a * a;
            for (int n = 1; n < 200 && Math.Abs(term) > 1e-18 * Math.Abs(sum); n++)
            {
                term *= -z2 / n;
                sum += term / (2 * n + 1);
            }
            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // erfc(a) = e^{-a²}/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...))))), evaluated from the tail.
            double f = a;
            for (int k = 80; k >= 1; k--) f = a + k / 2.0 / f;
            result = 1 - Math.Exp(-a * a) / Math.Sqrt(Math.PI) / f;
        }
        return z < 0 ? -result : result;
    }

    public static double NormalCdf(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    public static double NormalPdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static double GeluTanhInner(double x) => Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
}
