namespace NormSharp.Layers;

/// <summary>The running-average update of batch normalization layers updated outside their kernel (deferred and synchronized statistics).</summary>
internal static class RunningStatistics
{
    /// <summary>running = (1 − momentum)·running + momentum·batch statistic, in double, rounded once.</summary>
    public static void Update(Span<float> runningMean, Span<float> runningVar, ReadOnlySpan<double> mean, ReadOnlySpan<double> unbiasedVar, float momentum)
    {
        double m = momentum;
        for (int c = 0; c < runningMean.Length; c++)
        {
            runningMean[c] = (float)((1 - m) * runningMean[c] + m * mean[c]);
            runningVar[c] = (float)((1 - m) * runningVar[c] + m * unbiasedVar[c]);
        }
    }
}
