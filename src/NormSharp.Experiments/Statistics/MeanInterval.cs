namespace NormSharp.Experiments.Statistics;

/// <summary>The mean of one arm's per-seed values with its 95% Student-t interval (for values reported per arm, not compared).</summary>
/// <param name="Mean">The mean over seeds.</param>
/// <param name="Low">Lower end of the interval (NaN with fewer than two finite values).</param>
/// <param name="High">Upper end.</param>
public sealed record MeanInterval(double Mean, double Low, double High)
{
    /// <summary>The mean and 95% t interval of <paramref name="values"/> (NaN when a value is not finite).</summary>
    public static MeanInterval Of(IReadOnlyList<double> values, double level = 0.95)
    {
        ArgumentNullException.ThrowIfNull(values);
        double mean = Stats.Mean(values);
        if (values.Count < 2 || values.Any(v => !double.IsFinite(v))) return new MeanInterval(mean, double.NaN, double.NaN);
        double half = StudentT.Quantile(0.5 + level / 2, values.Count - 1) * Stats.Std(values) / Math.Sqrt(values.Count);
        return new MeanInterval(mean, mean - half, mean + half);
    }

    /// <summary>"mean [low, high]" for a table.</summary>
    public override string ToString() =>
        double.IsFinite(Low) ? $"{SuiteContext.Num(Mean)} [{SuiteContext.Num(Low)}, {SuiteContext.Num(High)}]" : $"{SuiteContext.Num(Mean)} (no interval)";
}
