using NormSharp.Tensors;

namespace NormSharp.Experiments.Statistics;

/// <summary>
/// The nonparametric bootstrap (Efron): resample the observed values with replacement, recompute the
/// statistic, and read an interval off the resampled statistics' percentiles. Seeded, so an interval is
/// the same on every run and every machine.
/// </summary>
public static class Bootstrap
{
    /// <summary>
    /// The percentile interval of the mean of <paramref name="values"/> at <paramref name="level"/>, from
    /// <paramref name="resamples"/> resamples drawn with <paramref name="seed"/>.
    /// </summary>
    public static (double Low, double High) PercentileIntervalOfMean(IReadOnlyList<double> values, double level, int resamples, ulong seed)
    {
        if (values.Count == 0) throw new ArgumentException("the bootstrap needs at least one value.", nameof(values));
        if (resamples < 2) throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "the bootstrap needs at least two resamples.");
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), level, "the level must lie in (0, 1).");
        var rng = new Rng(seed);
        int n = values.Count;
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += values[rng.NextInt(n)];
            means[r] = s / n;
        }
        Array.Sort(means);
        double alpha = (1 - level) / 2;
        return (Percentile(means, alpha), Percentile(means, 1 - alpha));
    }

    /// <summary>The <paramref name="p"/>-percentile of sorted values, linearly interpolated between order statistics.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) throw new ArgumentException("no values.", nameof(sorted));
        double pos = p * (sorted.Count - 1);
        int below = (int)Math.Floor(pos);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (pos - below) * (sorted[above] - sorted[below]);
    }
}
