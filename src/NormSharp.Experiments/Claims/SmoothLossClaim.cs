using System.Globalization;
using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments.Claims;

/// <summary>E: with layer normalization the training loss fluctuates less and convergence is easier to judge.</summary>
public static class SmoothLossClaim
{
    /// <summary>The claim's entry in the suite.</summary>
    public static ClaimDefinition Definition { get; } = new("E", ClaimSource.Article, "LN smooths the training loss and a convergence detector stops nearer the best checkpoint", Run);

    /// <summary>Judges the loss fluctuation (best and matched rates) and the convergence detector (best rates) on B's runs.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var seeds = ctx.SeedList("E");
        var grid = RateGridRuns.Run(ctx, seeds);
        static double Fluct(RunResult r) => r.Summary.Diverged ? double.NaN : VerdictRules.Fluctuation(r.StepLoss);
        static (double Stop, bool Fired, double Distance) Detect(RunResult r) => VerdictRules.Detector(r.EvalSteps, r.EvalLoss, r.StepLoss.Length);
        var findings = new List<Finding>();
        foreach (var (label, ln, none, _, judged) in grid.Comparisons())
        {
            var finding = VerdictRules.SmootherLoss(seeds, ln.Select(Fluct).ToArray(), none.Select(Fluct).ToArray(), label);
            findings.Add(judged ? finding : finding with { Judged = false, Note = "a run diverged at this rate: reported, not judged" });
        }
        var (bestLabel, bestLn, bestNone, bestBn, _) = grid.Comparisons().First();
        findings.Insert(1, VerdictRules.DetectorDistance(seeds, bestNone.Select(r => Detect(r).Distance).ToArray(), bestLn.Select(r => Detect(r).Distance).ToArray(), bestLabel));
        findings.Add(Finding.Report($"loss fluctuation, BN / none, each at its best rate", PairedComparison.Of(EffectScale.Ratio, "BN", "none", seeds, bestBn.Select(Fluct).ToArray(), bestNone.Select(Fluct).ToArray()),
            Threshold.AtMost(VerdictRules.SmootherLossRatio, "×")));

        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        foreach (var norm in RateGridRuns.Norms)
            foreach (double lr in grid.Rates)
            {
                var rs = grid.Runs[(norm, lr)];
                var detected = rs.Select(Detect).ToList();
                string key = $"{norm}.lr{RateGridRuns.Rate(lr)}";
                evidence[$"fluctuation.{key}"] = Stats.Mean(rs.Select(Fluct));
                evidence[$"detector_fired_fraction.{key}"] = detected.Count(d => d.Fired) / (double)detected.Count;
                evidence[$"detector_distance.{key}"] = Stats.Mean(detected.Select(d => d.Distance));
                rows.Add([PaperMlpRuns.Label(norm), RateGridRuns.Rate(lr) + (grid.Best[norm] == lr ? " (best)" : ""), SuiteContext.MeanStd(rs.Select(Fluct)),
                    $"{detected.Count(d => d.Fired)}/{detected.Count}", SuiteContext.Num(Stats.Median(detected.Select(d => d.Stop))),
                    SuiteContext.Num(Stats.Median(rs.Select(r => r.EvalLoss.Length == 0 ? double.NaN : r.EvalSteps[Array.IndexOf(r.EvalLoss, r.EvalLoss.Min())]))),
                    SuiteContext.MeanStd(detected.Select(d => d.Distance), "F3"), rs[0].StepLoss.Length.ToString(CultureInfo.InvariantCulture)]);
            }
        var raw = new[] { "none", "layer" }.Select(n => new Series($"{PaperMlpRuns.Label(n)} (lr {RateGridRuns.Rate(grid.Best[n])}, seed {seeds[0]})",
            Enumerable.Range(1, grid.AtBest(n)[0].StepLoss.Length).Select(i => i / PaperMlpRuns.StepsPerEpoch(grid.AtBest(n)[0])).ToArray(), grid.AtBest(n)[0].StepLoss)).ToList();
        var heldOut = RateGridRuns.Norms.Select(n => PaperMlpRuns.Curve($"{PaperMlpRuns.Label(n)} (lr {RateGridRuns.Rate(grid.Best[n])})", grid.AtBest(n),
            r => (r.EvalSteps.Select(s => s / PaperMlpRuns.StepsPerEpoch(r)).ToArray(), r.EvalLoss))).ToList();
        return new ClaimResult
        {
            Id = "E",
            Title = $"With LN the step-to-step fluctuation of the training loss is at most {VerdictRules.SmootherLossRatio}× the unnormalized net's (best and matched rates), and a held-out-loss plateau detector stops at least {VerdictRules.DetectorDistanceGain:G2} of the run nearer the best checkpoint (best rates)",
            Setup = grid.Setup(ctx, seeds) + " These are claim B's runs. Fluctuation: the standard deviation of step-to-step changes of the training loss divided by its mean, over the second half of training. " +
                "Convergence detector: on the held-out checks, smoothed by an EMA (0.3), it fires at the first check whose smoothed loss improved by less than 1% over the last 5 checks (a run it never stops ends at its last check); the best checkpoint is the check with the lowest held-out loss; the distance is |stop − best| over the run's steps.",
            Rule = $"LN's fluctuation / the unnormalized net's, per seed, as a geometric mean ≤ {VerdictRules.SmootherLossRatio}× at the best rates and at every matched rate (a matched rate at which a run diverged is reported, not judged); the detector's distance, none − LN, per seed, ≥ {VerdictRules.DetectorDistanceGain} at the best rates; {VerdictRules.IntervalRule}. Supported when every judged comparison is, not supported when any is not. BN / none is reported.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("fluctuation (mean ± sd), detector firing, its stop and the best check (median steps), distance (mean ± sd), per arm and rate",
                ["norm", "lr", "fluctuation", "detector fired", "stop step", "best step", "distance", "steps run"], rows)],
            Figures =
            [
                new Figure("E-raw-loss", "E: raw training NLL per step at each arm's best rate (one seed)", "epoch", "training NLL (nats)", raw, LogY: true),
                new Figure("E-validation-loss", "E: held-out loss at each arm's best rate (mean ± sd over seeds)", "epoch", "held-out loss (nats)", heldOut, LogY: true),
            ],
        };
    }
}
