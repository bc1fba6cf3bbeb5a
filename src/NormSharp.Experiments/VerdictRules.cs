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
    /// F, reported beside the claim (the earlier rule): LN-LSTM's mean training loss over the run (the area under
    /// its learning curve) at most 0.95× the LSTM's. Seeds of one cell differ by a few percent.
    /// </summary>
    public const double RecurrentAreaRatio = 0.95;

    /// <summary>
    /// F: LN-LSTM must reach the held-out accuracy target in at most 0.9× the LSTM's steps (geometric mean of the
    /// per-seed ratios): the same 10% bar as B for "trains faster".
    /// </summary>
    public const double RecurrentStepsRatio = 0.9;

    /// <summary>
    /// F: LN-LSTM's final test accuracy may be at most one point below the LSTM's (a non-inferiority margin): faster
    /// training bought with a worse model would not be the paper's claim. One point is about twice the seed-to-seed
    /// spread of a converged sequential-MNIST model.
    /// </summary>
    public const double RecurrentAccuracyMargin = 0.01;

    /// <summary>
    /// F: the held-out accuracy target both cells are timed to, as a fraction of the weaker cell's mean final held-out
    /// accuracy: 90%, so that every run crosses it well before its end and the time to reach it measures speed.
    /// </summary>
    public const double RecurrentTargetFraction = 0.9;

    /// <summary>
    /// L (the paper's Fig. 6): LN's training NLL averaged over the run (the area under its learning curve) must be at
    /// most 0.9× BN's at each batch size (geometric mean of the per-seed ratios): the 10% bar of B for "faster".
    /// </summary>
    public const double Figure6AreaRatio = 0.9;

    /// <summary>
    /// M: a training-mode batch-normalization output counts as independent of its single input when two different
    /// inputs change it by less than 1e-6 of its scale: subtracting a batch mean of one sample leaves exactly zero.
    /// </summary>
    public const double BatchOfOneTolerance = 1e-6;

    /// <summary>
    /// C: a learning rate "works" for a method and seed when its final held-out loss is at most 1.5× the best over the
    /// sweep: half again the best loss still trains a useful model, while a diverged or stalled run (at or near the
    /// chance loss, ten times the best and more) does not.
    /// </summary>
    public const double WorkingLossFactor = 1.5;

    /// <summary>
    /// C: LN's window of working rates (the contiguous rates around each method's own best, in decades) must be at
    /// least half a decade wider than the unnormalized net's: one step of the half-decade grid, the smallest widening
    /// the sweep can resolve.
    /// </summary>
    public const double RateWindowWidening = 0.5;

    /// <summary>
    /// E: the convergence detector must stop LN's runs at least 5% of the run nearer the best checkpoint (lowest held-out
    /// loss) than the unnormalized net's: with about five held-out checks per epoch over six epochs, 5% is one to two
    /// checks, the smallest difference the detector can show.
    /// </summary>
    public const double DetectorDistanceGain = 0.05;

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

    /// <summary>
    /// B (faster convergence), from the steps each run needs to reach the target loss: LN/none ≤ <see cref="FasterConvergenceRatio"/>.
    /// <paramref name="rates"/> says at which learning rates the arms ran (e.g. "lr 0.001", "each at its best rate").
    /// </summary>
    public static Finding FasterConvergence(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnSteps, IReadOnlyList<double> noneSteps, string rates = "") =>
        Finding.Judge("steps to the target loss, LN / none" + Context(rates), PairedComparison.Of(EffectScale.Ratio, "LN", "none", seeds, lnSteps, noneSteps), Threshold.AtMost(FasterConvergenceRatio, "×"));

    private static string Context(string rates) => rates.Length == 0 ? "" : ", " + rates;

    /// <summary>
    /// L (Fig. 6), at one batch size, from each run's mean training NLL over the run: LN/BN ≤ <see cref="Figure6AreaRatio"/>.
    /// </summary>
    public static Finding Figure6(IReadOnlyList<ulong> seeds, int batchSize, IReadOnlyList<double> lnArea, IReadOnlyList<double> bnArea) =>
        Finding.Judge($"mean training NLL over the run, LN / BN, batch {batchSize}", PairedComparison.Of(EffectScale.Ratio, "LN", "BN", seeds, lnArea, bnArea), Threshold.AtMost(Figure6AreaRatio, "×"));

    /// <summary>M (online learning), from the test errors per seed: LN at batch 1 minus LN at batch 128 within ±<see cref="BatchSizeTolerance"/>.</summary>
    public static Finding OnlineLearning(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnBatch1, IReadOnlyList<double> lnBatch128) =>
        Finding.Judge("LN test error, batch 1 − batch 128", PairedComparison.Of(EffectScale.Difference, "LN b1", "LN b128", seeds, lnBatch1, lnBatch128), Threshold.Within(BatchSizeTolerance));

    /// <summary>
    /// M, a deterministic check: the largest change of batch normalization's training-mode output between two different
    /// single-sample batches, relative to the output's scale, at most <see cref="BatchOfOneTolerance"/> (the output does
    /// not depend on the sample, so nothing can be learned from it).
    /// </summary>
    public static Finding BatchOfOne(double relativeChange) =>
        Finding.Exact("BN training-mode output change between two single-sample batches (relative)", relativeChange, Threshold.AtMost(BatchOfOneTolerance),
            "deterministic: exact float32 arithmetic on fixed inputs, no sampling noise, so no interval");

    /// <summary>
    /// F (recurrent speed), from the steps each run needs to reach the held-out accuracy target: LN-LSTM/LSTM ≤ <see cref="RecurrentStepsRatio"/>.
    /// </summary>
    public static Finding RecurrentSpeed(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnLstmSteps, IReadOnlyList<double> lstmSteps) =>
        Finding.Judge("steps to the held-out accuracy target, LN-LSTM / LSTM", PairedComparison.Of(EffectScale.Ratio, "LN-LSTM", "LSTM", seeds, lnLstmSteps, lstmSteps), Threshold.AtMost(RecurrentStepsRatio, "×"));

    /// <summary>F (final accuracy), per seed: LN-LSTM's test accuracy − the LSTM's ≥ −<see cref="RecurrentAccuracyMargin"/>.</summary>
    public static Finding RecurrentFinalAccuracy(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnLstmAccuracy, IReadOnlyList<double> lstmAccuracy) =>
        Finding.Judge("final test accuracy, LN-LSTM − LSTM", PairedComparison.Of(EffectScale.Difference, "LN-LSTM", "LSTM", seeds, lnLstmAccuracy, lstmAccuracy), Threshold.AtLeast(-RecurrentAccuracyMargin));

    /// <summary>
    /// C (wider windows of working rates), for one optimizer, from each seed's window width in decades: LN − none ≥
    /// <see cref="RateWindowWidening"/>. A window that reaches an end of the swept grid is only a lower bound: when the
    /// unnormalized net's does for some seed, the difference cannot be bounded from below and the finding is
    /// inconclusive; when only LN's does, a "not supported" becomes inconclusive (LN's true window may be wider).
    /// </summary>
    public static Finding RateWindow(IReadOnlyList<ulong> seeds, string optimizer, IReadOnlyList<double> lnWidth, IReadOnlyList<double> noneWidth,
        IReadOnlyList<bool> lnCensored, IReadOnlyList<bool> noneCensored)
    {
        var finding = Finding.Judge($"window of working learning rates ({optimizer}), LN − none, decades",
            PairedComparison.Of(EffectScale.Difference, "LN", "none", seeds, lnWidth, noneWidth), Threshold.AtLeast(RateWindowWidening));
        if (noneCensored.Any(c => c) && finding.Verdict == Verdict.Supported)
            return finding with { Verdict = Verdict.Inconclusive, Note = "the unnormalized net's window reaches an end of the swept rates for some seed: the sweep cannot tell how wide it is" };
        if (lnCensored.Any(c => c) && finding.Verdict == Verdict.NotSupported)
            return finding with { Verdict = Verdict.Inconclusive, Note = "LN's window reaches an end of the swept rates for some seed: it may be wider than measured" };
        return finding;
    }

    /// <summary>
    /// E (convergence is easier to judge), from each run's distance between the detector's stop and the best checkpoint
    /// (fractions of the run): none − LN ≥ <see cref="DetectorDistanceGain"/>.
    /// </summary>
    public static Finding DetectorDistance(IReadOnlyList<ulong> seeds, IReadOnlyList<double> noneDistance, IReadOnlyList<double> lnDistance, string rates) =>
        Finding.Judge("distance from the detector's stop to the best checkpoint, none − LN, fraction of the run" + Context(rates),
            PairedComparison.Of(EffectScale.Difference, "none", "LN", seeds, noneDistance, lnDistance), Threshold.AtLeast(DetectorDistanceGain));

    /// <summary>
    /// D (vanishing/exploding gradients), per activation from the per-seed spreads (decades) of the per-layer
    /// gradient norms at initialization: none − LN ≥ <see cref="GradientSpreadReduction"/>, judged for each.
    /// </summary>
    public static IReadOnlyList<Finding> GradientFlow(IReadOnlyList<ulong> seeds, IReadOnlyList<(string Activation, IReadOnlyList<double> None, IReadOnlyList<double> Ln)> spreads) =>
        spreads.Select(s => Finding.Judge($"gradient-norm spread over depth at the first step ({s.Activation}), none − LN, decades",
            PairedComparison.Of(EffectScale.Difference, "none", "LN", seeds, s.None, s.Ln), Threshold.AtLeast(GradientSpreadReduction))).ToList();

    /// <summary>E (smoother loss), from the per-seed fluctuation: LN/none ≤ <see cref="SmootherLossRatio"/>.</summary>
    public static Finding SmootherLoss(IReadOnlyList<ulong> seeds, IReadOnlyList<double> lnFluctuation, IReadOnlyList<double> noneFluctuation, string rates = "") =>
        Finding.Judge("loss fluctuation, LN / none" + Context(rates), PairedComparison.Of(EffectScale.Ratio, "LN", "none", seeds, lnFluctuation, noneFluctuation), Threshold.AtMost(SmootherLossRatio, "×"));

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

    /// <summary>
    /// C: the window of working rates around the best one, in decades, from the final held-out loss at each swept rate
    /// (ascending rates; a diverged or non-finite run's loss is +∞): the contiguous rates around the lowest loss whose
    /// loss is at most <see cref="WorkingLossFactor"/>× the lowest, measured as log10(largest/smallest) plus one grid
    /// step (a window of one rate is one grid step wide); and whether it reaches an end of the grid. Empty (0 decades)
    /// when no rate has a finite loss.
    /// </summary>
    public static WorkingRates WorkingWindow(IReadOnlyList<double> rates, IReadOnlyList<double> losses)
    {
        if (rates.Count != losses.Count || rates.Count < 2) throw new ArgumentException("a window needs at least two rates, each with a loss.");
        int best = -1;
        for (int i = 0; i < losses.Count; i++)
            if (double.IsFinite(losses[i]) && (best < 0 || losses[i] < losses[best])) best = i;
        if (best < 0) return new WorkingRates(-1, -1, -1, 0, false);
        bool Works(int i) => double.IsFinite(losses[i]) && losses[i] <= WorkingLossFactor * losses[best];
        int lo = best, hi = best;
        while (lo > 0 && Works(lo - 1)) lo--;
        while (hi + 1 < rates.Count && Works(hi + 1)) hi++;
        double step = Math.Log10(rates[1] / rates[0]);
        return new WorkingRates(best, lo, hi, Math.Log10(rates[hi] / rates[lo]) + step, lo == 0 || hi == rates.Count - 1);
    }

    /// <summary>
    /// F: the step at which a run's held-out accuracy first reaches <paramref name="target"/>, interpolated linearly
    /// between the check before (or step 0 at chance accuracy <paramref name="chance"/>) and the first check at or
    /// above it; +∞ when it never does.
    /// </summary>
    public static double StepsToAccuracy(IReadOnlyList<double> steps, IReadOnlyList<double> accuracy, double target, double chance)
    {
        double previousStep = 0, previous = chance;
        for (int i = 0; i < Math.Min(steps.Count, accuracy.Count); i++)
        {
            if (accuracy[i] >= target)
                return accuracy[i] > previous && previous < target ? previousStep + (steps[i] - previousStep) * (target - previous) / (accuracy[i] - previous) : steps[i];
            (previousStep, previous) = (steps[i], accuracy[i]);
        }
        return double.PositiveInfinity;
    }

    /// <summary>
    /// E: where the convergence detector stops a run and how far that is from its best checkpoint. The detector
    /// watches the held-out loss checks (EMA 0.3) and fires at the first check whose smoothed value improved by less
    /// than 1% over the last 5 checks (<see cref="PlateauStep"/>); a run it never stops ends at its last check. The
    /// best checkpoint is the check with the lowest held-out loss. Returns the stop's step and |stop − best| as a
    /// fraction of the run's steps.
    /// </summary>
    public static (double StopStep, bool Fired, double Distance) Detector(IReadOnlyList<double> evalSteps, IReadOnlyList<double> evalLoss, double runSteps)
    {
        if (evalSteps.Count == 0 || !(runSteps > 0)) return (double.NaN, false, double.NaN);
        double at = PlateauStep(evalLoss, window: 5, relative: 0.01, alpha: 0.3);
        bool fired = !double.IsPositiveInfinity(at);
        double stop = fired ? evalSteps[(int)at - 1] : evalSteps[^1];
        int best = 0;
        for (int i = 1; i < evalLoss.Count; i++) if (evalLoss[i] < evalLoss[best]) best = i;
        return (stop, fired, Math.Abs(stop - evalSteps[best]) / runSteps);
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

/// <summary>A window of working learning rates (claim C), as indices into the swept rates.</summary>
/// <param name="Best">The rate with the lowest loss (−1: none finite).</param>
/// <param name="Low">The window's smallest rate.</param>
/// <param name="High">Its largest rate.</param>
/// <param name="Decades">Its width in decades, one grid step for a single rate (0 when empty).</param>
/// <param name="Censored">Whether it reaches an end of the swept rates (its true width may be larger).</param>
public sealed record WorkingRates(int Best, int Low, int High, double Decades, bool Censored)
{
    /// <summary>Whether the rate at <paramref name="index"/> is in the window.</summary>
    public bool Contains(int index) => Best >= 0 && index >= Low && index <= High;
}
