using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels.Normalization;

/// <summary>Shared data generation and comparison for the batch/group normalization kernel tests.</summary>
internal static class ChannelNormTestHelpers
{
    public static float[] Normal(Rng rng, int count, float mean = 0, float std = 1)
    {
        var a = new float[count];
        rng.FillNormal(a, mean, std);
        return a;
    }

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    /// <summary>Asserts |actual - expected| ≤ atol + rtol·|expected| everywhere, naming the worst element.</summary>
    public static void Close(string what, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double atol, double rtol)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            double ratio = double.IsNaN(err) ? double.PositiveInfinity : err / (atol + rtol * Math.Abs(expected[i]));
            if (ratio > worst) { worst = ratio; at = i; }
        }
        Assert.True(worst <= 1, $"{what}[{at}]: expected {(at >= 0 ? expected[at] : 0)}, actual {(at >= 0 ? actual[at] : 0)} ({worst:F2}× the tolerance {atol} + {rtol}·|expected|)");
    }

    /// <summary>Central finite difference of <paramref name="loss"/> with respect to <paramref name="values"/>[i].</summary>
    public static double Numeric(Func<double> loss, double[] values, int i, double h = 1e-5)
    {
        double keep = values[i];
        values[i] = keep + h;
        double up = loss();
        values[i] = keep - h;
        double down = loss();
        values[i] = keep;
        return (up - down) / (2 * h);
    }

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
