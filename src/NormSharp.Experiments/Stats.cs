namespace NormSharp.Experiments;

/// <summary>Small statistics over seeds and curves.</summary>
public static class Stats
{
    /// <summary>Arithmetic mean (NaN for none).</summary>
    public static double Mean(IEnumerable<double> xs)
    {
        double s = 0;
        int n = 0;
        foreach (double x in xs) { s += x; n++; }
        return n == 0 ? double.NaN : s / n;
    }

    /// <summary>Sample standard deviation (0 for fewer than two values).</summary>
    public static double Std(IEnumerable<double> xs)
    {
        var a = xs.ToArray();
        if (a.Length < 2) return 0;
        double m = Mean(a);
        return Math.Sqrt(a.Sum(x => (x - m) * (x - m)) / (a.Length - 1));
    }

    /// <summary>Median (NaN for none).</summary>
    public static double Median(IEnumerable<double> xs)
    {
        var a = xs.Order().ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]);
    }

    /// <summary>Exponential moving average of a series (α is the weight of the new value).</summary>
    public static double[] Smooth(IReadOnlyList<double> xs, double alpha)
    {
        var r = new double[xs.Count];
        double s = double.NaN;
        for (int i = 0; i < xs.Count; i++)
        {
            s = double.IsNaN(s) ? xs[i] : (1 - alpha) * s + alpha * xs[i];
            r[i] = s;
        }
        return r;
    }

    /// <summary>Point-wise mean and standard deviation of equally long curves (truncated to the shortest).</summary>
    public static (double[] Mean, double[] Std) Band(IReadOnlyList<double[]> curves)
    {
        int n = curves.Count == 0 ? 0 : curves.Min(c => c.Length);
        var m = new double[n];
        var s = new double[n];
        for (int i = 0; i < n; i++)
        {
            var col = curves.Select(c => c[i]).ToArray();
            m[i] = Mean(col);
            s[i] = Std(col);
        }
        return (m, s);
    }
}
