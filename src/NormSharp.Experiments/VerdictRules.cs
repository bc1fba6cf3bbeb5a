using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments;

/// <summary>
/// The decision rules of the claims as pure functions of per-seed measurements, so they can be tested on
/// synthetic numbers and read in one place. Every rule compares arms seed by seed (the arms of one seed
/// share initialization and data order), builds a 95% Student-t interval of the effect
/// (<see cref="PairedComparison"/>), and holds it against a threshold fixed here, before any run it judges:
/// supported when the whole interval clears the threshold, not supported when the whole interval lies on
/// the wrong side, inconclusive otherwise (<see cref="Threshold.Decide"/>). A claim with several judged
/// findings is supported only when all are (<see cref="Combine"/>).
/// </summary>
public static class VerdictRules
{
    /// <summary>How every judged comparison is decided, for the report's rule texts.</summary>
    public const string IntervalRule =
        "each comparison pairs the arms seed by seed and has a 95% Student-t interval over the seeds; it is supported when its whole interval clears the threshold, not supported when its whole interval lies on the wrong side, inconclusive otherwise";

    /// <summary>
    /// A: two points of test error, about a third of the error these networks reach on mnist-digits (5–7%): a
    /// change a reader of the paper's Fig. 6 would call a degradation, while a method that moves less between batch
    /// 128 and batch 4 is independent of the batch size for practical purposes. It was the tolerance of the earlier
    /// point-estimate rule; only the treatment of seed noise changed.
    /// </summary>
    public const double BatchSizeTolerance = 0.02;

    /// <summary>
    /// B: LN must need at most 0.9× the steps of the unnormalized net to reach the target loss (geometric mean
    /// of the per-seed ratios): a saving under 10% is too small to call training "shorter". It was the margin of
    /// the earlier point-estimate rule.
    /// </summary>
    public const double FasterConvergenceRatio = 0.9;

    /// <summary>
    /// C: LN's largest working learning rate must be at least 2× the unnormalized net's (geometric mean of
    /// the per-seed ratios). The sweep's rates are a ×2–2.5 grid: one grid step is the smallest difference it
    /// can resolve.
    /// </summary>
    public const double LargerRateRatio = 2.0;

    /// <summary>
    /// D: LN must narrow the spread of per-layer gradient norms at initialization, log10(max/min) over the
    /// dense layers, by at least half a decade (a factor of about 3) for each activation: the smallest narrowing
    /// counted as keeping gradients from vanishing or exploding. It was the margin of the earlier point-estimate rule.
    /// </summary>
    public const double GradientSpreadReduction = 0.5;

    /// <summary>
    /// E: LN's loss fluctuation (std of step-to-step changes over mean loss, second half of training) must be
    /// at most 0.9× the unnormalized net's (geometric mean of the per-seed ratios): a 10% reduction, the same
    /// bar as B and the margin of the earlier point-estimate rule.
    /// </summary>
    public const double SmootherLossRatio = 0.9;

    /// <summary>
    /// F: LN-LSTM's mean training loss over the run (the area under its learning curve, folding speed and
    /// level into one number) must be at most 0.95× the LSTM's (geometric mean of the per-seed ratios). Seeds
    /// of one cell differ by a few percent; 5% is the smallest gain counted as "trains faster", as in the
    /// earlier rule.
    /// </summary>
    public const double RecurrentAreaRatio = 0.95;

    /// <summary>
    /// F, reported beside the claim: a working BN-LSTM baseline's evaluation-mode accuracy on the training
    /// images may exceed its evaluation-mode test accuracy by at most 5 points; more means its population
    /// statistics do not describe the data it is evaluated on.
    /// </summary>
    public const double BnLstmGeneralizationGap = 0.05;

    /// <summary>
    /// G: a cell of the invariance table counts as invariant when the largest change of the normalized
    /// outputs, relative to their largest magnitude, is below 1e-4: float32 rounding of the transformed
    /// inputs moves them by about 1e-7, a real dependence by order 1.
    /// </summary>
    public const double InvarianceTolerance = 1e-4;

    /// <summary>
    /// H: a quarter of a bit per character, about 7% of the 3.3–3.8 bits these small models reach on fortunes and
    /// several times the spread between seeds of one arm: "ends far worse" in the claim's words. The same margin
    /// judges the rescue by warm-up.
    /// </summary>
    public const double WarmupFailureBits = 0.25;

    /// <summary>
    /// I: LN-LSTM's mean validation bits per character over the run must be at least 0.05 bits below the LSTM's
    /// (about 1.5% of the level): the smallest gain counted as learning faster at a matched budget.
    /// </summary>
    public const double LanguageModelGainBits = 0.05;

    /// <summary>
    /// J, quality: RMSNorm's validation bits per character within ±0.1 of LayerNorm's (about 3% of the level, twice
    /// the spread between seeds): "comparable" in Zhang &amp; Sennrich's sense.
    /// </summary>
    public const double RmsQualityBand = 0.1;

    /// <summary>J, speed: RMSNorm's training step must take at most 0.93× LayerNorm's, the smallest saving (7%) Zhang &amp; Sennrich report.</summary>
    public const double RmsSpeedRatio = 0.93;

    /// <summary>
    /// H, from the per-seed final validation bits per character of Pre-LN, Post-LN and warmed-up Post-LN, and the
    /// per-seed ratio of the last block's to the first block's feed-forward gradient norm at the first step: Post-LN
    /// minus Pre-LN ≥ <see cref="WarmupFailureBits"/> and Post-LN minus warmed-up Post-LN ≥ it, both judged;
    /// warmed-up Post-LN against Pre-LN and the gradient ratio Post-LN / Pre-LN reported.
    /// </summary>
    public static IReadOnlyList<Finding> WarmupRescuesPostLn(IReadOnlyList<ulong> seeds, IReadOnlyList<double> preBits, IReadOnlyList<double> postBits,
        IReadOnlyList<double> warmBits, IReadOnlyList<double> preGradientRatio, IReadOnlyList<double> postGradientRatio) =>
    [
        Finding.Judge("validation bpc, Post-LN without warm-up − Pre-LN", PairedComparison.Of(EffectScale.Difference, "Post-LN", "Pre-LN", seeds, postBits, preBits), Threshold.AtLeast(WarmupFailureBits)),
        Finding.Judge("validation bpc, Post-LN without − with warm-up", PairedComparison.Of(EffectScale.Difference, "Post-LN", "Post-LN + warm-up", seeds, postBits, warmBits), Threshold.AtLeast(WarmupFailureBits)),
        Finding.Report("validation bpc, Post-LN with warm-up − Pre-LN", PairedComparison.Of(EffectScale.Difference, "Post-LN + warm-up", "Pre-LN", seeds, warmBits, preBits), Threshold.Within(WarmupFailureBits)),
        Finding.Report("last/first block gradient norm at init, Post-LN / Pre-LN", PairedComparison.Of(EffectScale.Ratio, "Post-LN", "Pre-LN", seeds, postGradientRatio, preGradientRatio), Threshold.AtLeast(1.0, "×")),
    ];

    /// <summary>
    /// I, from the per-seed mean validation bits per character over the run: LN-LSTM − LSTM ≤ −<see cref="LanguageModelGainBits"/>,
    /// judged; the final scores' difference reported.
    /// </summary>
    public static IReadOnlyList<Finding> LnLstmLanguageModel(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnMeanBits, IReadOnlyList<double> lstmMeanBits,
        IReadOnlyList<double> lnFinalBits, IReadOnlyList<double> lstmFinalBits) =>
    [
        Finding.Judge("mean validation bpc over the run, LN-LSTM − LSTM", PairedComparison.Of(EffectScale.Difference, "LN-LSTM", "LSTM", seeds, lnMeanBits, lstmMeanBits), Threshold.AtMost(-LanguageModelGainBits)),
        Finding.Report("final validation bpc, LN-LSTM − LSTM", PairedComparison.Of(EffectScale.Difference, "LN-LSTM", "LSTM", seeds, lnFinalBits, lstmFinalBits), Threshold.AtMost(-LanguageModelGainBits)),
    ];

    /// <summary>
    /// J, from per-seed validation bits per character, training-step times and normalization-kernel times: RMSNorm −
    /// LayerNorm bits within ±<see cref="RmsQualityBand"/> and RMSNorm / LayerNorm step time ≤ <see cref="RmsSpeedRatio"/>,
    /// both judged; the kernels' time ratio reported.
    /// </summary>
    public static IReadOnlyList<Finding> RmsNormVsLayerNorm(IReadOnlyList<ulong> seeds, IReadOnlyList<double> rmsBits, IReadOnlyList<double> layerBits,
        IReadOnlyList<double> rmsStep, IReadOnlyList<double> layerStep, IReadOnlyList<double> rmsKernel, IReadOnlyList<double> layerKernel) =>
    [
        Finding.Judge("validation bpc, RMSNorm − LayerNorm", PairedComparison.Of(EffectScale.Difference, "RMSNorm", "LayerNorm", seeds, rmsBits, layerBits), Threshold.Within(RmsQualityBand)),
        Finding.Judge("training-step time, RMSNorm / LayerNorm", PairedComparison.Of(EffectScale.Ratio, "RMSNorm", "LayerNorm", seeds, rmsStep, layerStep), Threshold.AtMost(RmsSpeedRatio, "×")),
        Finding.Report("normalization forward + backward time, RMSNorm / LayerNorm", PairedComparison.Of(EffectScale.Ratio, "RMSNorm", "LayerNorm", seeds, rmsKernel, layerKernel), Threshold.AtMost(RmsSpeedRatio, "×")),
    ];

    /// <summary>
    /// The verdict of several findings: not supported when any judged finding is not supported, supported when
    /// every judged finding is supported, inconclusive otherwise (also when none is judged).
    /// </summary>
    public static Verdict Combine(IEnumerable<Finding> findings)
    {
        var judged = findings.Where(f => f.Judged).ToList();
        if (judged.Count == 0) return Verdict.Inconclusive;
        if (judged.Any(f => f.Verdict == Verdict.NotSupported)) return Verdict.NotSupported;
        return judged.All(f => f.Verdict == Verdict.Supported) ? Verdict.Supported : Verdict.Inconclusive;
    }

    /// <summary>
    /// A (batch-size independence), from the test errors per seed (a diverged run counts as error 1): LN's
    /// error at batch 4 minus at batch 128 within ±<see cref="BatchSizeTolerance"/>; BN's at batch 4 minus at
    /// batch 128 at least the tolerance; BN's minus LN's at batch 4 at least the tolerance. All three judged.
    /// </summary>
    public static IReadOnlyList<Finding> BatchSizeIndependence(IReadOnlyList<ulong> seeds,
        IReadOnlyList<double> ln128, IReadOnlyList<double> ln4, IReadOnlyList<double> bn128, IReadOnlyList<double> bn4) =>
    [
        Finding.Judge("LN test error, batch 4 − batch 128", PairedComparison.Of(EffectScale.Difference, "LN b4", "LN b128", seeds, ln4, ln128), Threshold.Within(BatchSizeTolerance)),
        Finding.Judge("BN test error, batch 4 − batch 128", PairedComparison.Of(EffectScale.Difference, "BN b4", "BN b128", seeds, bn4, bn128), Threshold.AtLeast(BatchSizeTolerance)),
        Finding.Judge("test error at batch 4, BN − LN", PairedComparison.Of(EffectScale.Difference, "BN b4", "LN b4", seeds, bn4, ln4), Threshold.AtLeast(BatchSizeTolerance)),
    ];

    /// <summary>B (faster convergence), from the steps each run needs to reach the target loss: LN/none ≤ <see cref="FasterConvergenceRatio"/>.</summary>
    public static Finding FasterConvergence(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnSteps, IReadOnlyList<double> noneSteps) =>
        Finding.Judge("steps to the target loss, LN / none", PairedComparison.Of(EffectScale.Ratio, "LN", "none", seeds, lnSteps, noneSteps), Threshold.AtMost(FasterConvergenceRatio, "×"));

    /// <summary>
    /// C (larger learning rates), from each seed's largest working rate (0 when none works): LN/none ≥
    /// <see cref="LargerRateRatio"/>. Inconclusive, whatever the interval, when the unnormalized network still
    /// works at the largest swept rate for some seed: the sweep cannot show how far it would go.
    /// </summary>
    public static Finding LargerLearningRates(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnMaxRate, IReadOnlyList<double> noneMaxRate, double largestSweptRate)
    {
        var finding = Finding.Judge("largest working learning rate, LN / none",
            PairedComparison.Of(EffectScale.Ratio, "LN", "none", seeds, lnMaxRate, noneMaxRate), Threshold.AtLeast(LargerRateRatio, "×"));
        return noneMaxRate.Any(r => r >= largestSweptRate)
            ? finding with { Verdict = Verdict.Inconclusive, Note = "the unnormalized net still works at the largest swept rate for some seed: the sweep cannot tell" }
            : finding;
    }

    /// <summary>
    /// D (vanishing/exploding gradients), per activation from the per-seed spreads (decades) of the per-layer
    /// gradient norms at initialization: none − LN ≥ <see cref="GradientSpreadReduction"/>, judged for each.
    /// </summary>
    public static IReadOnlyList<Finding> GradientFlow(IReadOnlyList<ulong> seeds, IReadOnlyList<(string Activation, IReadOnlyList<double> None, IReadOnlyList<double> Ln)> spreads) =>
        spreads.Select(s => Finding.Judge($"gradient-norm spread at init ({s.Activation}), none − LN, decades",
            PairedComparison.Of(EffectScale.Difference, "none", "LN", seeds, s.None, s.Ln), Threshold.AtLeast(GradientSpreadReduction))).ToList();

    /// <summary>E (smoother loss), from the per-seed fluctuation: LN/none ≤ <see cref="SmootherLossRatio"/>.</summary>
    public static Finding SmootherLoss(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnFluctuation, IReadOnlyList<double> noneFluctuation) =>
        Finding.Judge("loss fluctuation, LN / none", PairedComparison.Of(EffectScale.Ratio, "LN", "none", seeds, lnFluctuation, noneFluctuation), Threshold.AtMost(SmootherLossRatio, "×"));

    /// <summary>F (recurrent), from the per-seed mean training loss over the run: LN-LSTM/LSTM ≤ <see cref="RecurrentAreaRatio"/>.</summary>
    public static Finding RecurrentStability(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnLstmArea, IReadOnlyList<double> lstmArea) =>
        Finding.Judge("mean training loss on sequential MNIST, LN-LSTM / LSTM", PairedComparison.Of(EffectScale.Ratio, "LN-LSTM", "LSTM", seeds, lnLstmArea, lstmArea), Threshold.AtMost(RecurrentAreaRatio, "×"));

    /// <summary>
    /// F, reported: BN-LSTM's evaluation-mode accuracy on its training images minus on the test images, per
    /// seed, against <see cref="BnLstmGeneralizationGap"/>. Not part of the claim's verdict.
    /// </summary>
    public static Finding BnLstmBaseline(IReadOnlyList<ulong> seeds, IReadOnlyList<double> trainAccuracy, IReadOnlyList<double> testAccuracy) =>
        Finding.Report("BN-LSTM eval-mode accuracy, training images − test images",
            PairedComparison.Of(EffectScale.Difference, "train", "test", seeds, trainAccuracy, testAccuracy), Threshold.AtMost(BnLstmGeneralizationGap));

    /// <summary>
    /// G (invariance table), a deterministic check: the largest relative change among the cells the paper marks
    /// invariant must be below <see cref="InvarianceTolerance"/>, and the smallest among the cells it marks not
    /// invariant must be at least that.
    /// </summary>
    public static IReadOnlyList<Finding> InvarianceTable(IReadOnlyList<(bool Expected, double Change)> cells)
    {
        const string note = "deterministic: exact float32 arithmetic on fixed draws, no sampling noise, so no interval";
        double worstInvariant = cells.Where(c => c.Expected).Select(c => c.Change).DefaultIfEmpty(0).Max();
        double leastVariant = cells.Where(c => !c.Expected).Select(c => c.Change).DefaultIfEmpty(double.PositiveInfinity).Min();
        // The threshold is strict for the invariant side: a change of exactly the tolerance is not invariant.
        var invariant = Finding.Exact("largest relative change where the paper says invariant", worstInvariant, Threshold.AtMost(InvarianceTolerance), note);
        if (worstInvariant == InvarianceTolerance) invariant = invariant with { Verdict = Verdict.NotSupported };
        return
        [
            invariant,
            Finding.Exact("smallest relative change where the paper says not invariant", leastVariant, Threshold.AtLeast(InvarianceTolerance), note),
        ];
    }

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
