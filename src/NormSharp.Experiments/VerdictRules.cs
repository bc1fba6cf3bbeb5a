namespace NormSharp.Experiments;

/// <summary>
/// The decision rules of the claims as pure functions of measured numbers, so they can be tested on
/// synthetic series and read in one place. Each returns the verdict; thresholds are in the rule texts.
/// </summary>
public static class VerdictRules
{
    /// <summary>
    /// A (batch-size independence): supported when LN's test error at batch 4 is within
    /// <paramref name="tolerance"/> of its error at batch 128 while BN's error at batch 4 exceeds both its
    /// own at 128 and LN's at 4 by at least the tolerance; not supported when LN's gap exceeds the tolerance
    /// or BN does not degrade at all (gap below a quarter of it); otherwise inconclusive.
    /// </summary>
    public static Verdict BatchSizeIndependence(double ln128, double ln4, double bn128, double bn4, double tolerance = 0.02)
    {
        double lnGap = ln4 - ln128, bnGap = bn4 - bn128;
        if (Math.Abs(lnGap) <= tolerance && bnGap >= tolerance && bn4 - ln4 >= tolerance) return Verdict.Supported;
        if (Math.Abs(lnGap) > tolerance || bnGap < tolerance / 4) return Verdict.NotSupported;
        return Verdict.Inconclusive;
    }

    /// <summary>
    /// B (faster convergence): with the median steps each method needs to reach the target loss (∞ when a
    /// seed never reaches it), supported when LN needs at most <paramref name="margin"/>× the steps of the
    /// unnormalized network; not supported when it needs at least as many; otherwise inconclusive.
    /// </summary>
    public static Verdict FasterConvergence(double lnSteps, double noneSteps, double margin = 0.9)
    {
        if (double.IsPositiveInfinity(lnSteps) && double.IsPositiveInfinity(noneSteps)) return Verdict.Inconclusive;
        if (lnSteps <= margin * noneSteps) return Verdict.Supported;
        if (lnSteps >= noneSteps) return Verdict.NotSupported;
        return Verdict.Inconclusive;
    }

    /// <summary>
    /// C (larger learning rates): with the largest swept rate at which a method works (at most a third of its
    /// seeds diverge and the rest learn; 0 when none works), supported when LN's is at least twice the unnormalized network's;
    /// not supported when it is not larger; inconclusive when the unnormalized network never diverged in
    /// the sweep (the sweep cannot tell) or the ratio lies between 1 and 2.
    /// </summary>
    public static Verdict LargerLearningRates(double lnMaxStable, double noneMaxStable, bool noneEverDiverged)
    {
        if (!noneEverDiverged) return Verdict.Inconclusive;
        if (lnMaxStable >= 2 * noneMaxStable && lnMaxStable > 0) return Verdict.Supported;
        if (lnMaxStable <= noneMaxStable) return Verdict.NotSupported;
        return Verdict.Inconclusive;
    }

    /// <summary>
    /// D (vanishing/exploding gradients): with the spread of per-layer gradient norms at initialization as
    /// log10(max/min) over the layers, supported when, for every activation, LN's spread is at least
    /// <paramref name="decades"/> smaller than the unnormalized network's; not supported when for some
    /// activation it is not smaller at all; otherwise inconclusive.
    /// </summary>
    public static Verdict GradientFlow(IReadOnlyList<(double None, double Ln)> spreads, double decades = 0.5)
    {
        if (spreads.Any(s => s.Ln >= s.None)) return Verdict.NotSupported;
        if (spreads.All(s => s.Ln <= s.None - decades)) return Verdict.Supported;
        return Verdict.Inconclusive;
    }

    /// <summary>
    /// E (smoother loss): with the fluctuation of each method (the standard deviation of step-to-step loss
    /// changes relative to the mean loss, late in training, averaged over seeds), supported when LN's is at
    /// most <paramref name="margin"/>× the unnormalized network's; not supported when it is at least as
    /// large; otherwise inconclusive.
    /// </summary>
    public static Verdict SmootherLoss(double lnFluctuation, double noneFluctuation, double margin = 0.9)
    {
        if (lnFluctuation <= margin * noneFluctuation) return Verdict.Supported;
        if (lnFluctuation >= noneFluctuation) return Verdict.NotSupported;
        return Verdict.Inconclusive;
    }

    /// <summary>
    /// F (recurrent): with the mean training loss over the run (the area under the learning curve) of each
    /// cell, supported when LN-LSTM's is at most <paramref name="margin"/>× the LSTM's; not supported when
    /// it is at least as large; otherwise inconclusive.
    /// </summary>
    public static Verdict RecurrentStability(double lnLstmArea, double lstmArea, double margin = 0.95)
    {
        if (lnLstmArea <= margin * lstmArea) return Verdict.Supported;
        if (lnLstmArea >= lstmArea) return Verdict.NotSupported;
        return Verdict.Inconclusive;
    }

    /// <summary>G (invariance table): supported when every measured cell (invariant when the largest relative deviation is below the threshold) matches the paper's table; not supported otherwise.</summary>
    public static Verdict InvarianceTable(IReadOnlyList<(bool Expected, bool Measured)> cells) =>
        cells.All(c => c.Expected == c.Measured) ? Verdict.Supported : Verdict.NotSupported;

    /// <summary>The first step at which the smoothed loss falls to <paramref name="target"/> or below, or +∞.</summary>
    public static double StepsToTarget(IReadOnlyList<double> stepLoss, double target, double alpha = 0.1)
    {
        var s = Stats.Smooth(stepLoss, alpha);
        for (int i = 0; i < s.Length; i++) if (s[i] <= target) return i + 1;
        return double.PositiveInfinity;
    }

    /// <summary>std(loss_t − loss_(t−1)) / mean(loss) over the second half of the steps.</summary>
    public static double Fluctuation(IReadOnlyList<double> stepLoss)
    {
        int start = stepLoss.Count / 2;
        var diffs = new List<double>();
        for (int i = Math.Max(1, start); i < stepLoss.Count; i++) diffs.Add(stepLoss[i] - stepLoss[i - 1]);
        double mean = Stats.Mean(stepLoss.Skip(start));
        return diffs.Count < 2 || !(mean > 0) ? double.NaN : Stats.Std(diffs) / mean;
    }

    /// <summary>
    /// A plateau detector: the first step at which the smoothed loss improved by less than
    /// <paramref name="relative"/> over the last <paramref name="window"/> steps, or +∞ if it never plateaus.
    /// </summary>
    public static double PlateauStep(IReadOnlyList<double> stepLoss, int window = 50, double relative = 0.01, double alpha = 0.05)
    {
        var s = Stats.Smooth(stepLoss, alpha);
        for (int i = window; i < s.Length; i++)
            if (s[i - window] - s[i] < relative * Math.Abs(s[i - window])) return i + 1;
        return double.PositiveInfinity;
    }
}
