using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments.Claims;

/// <summary>B: layer normalization reaches a target training loss in fewer steps than the unnormalized network.</summary>
public static class FasterTrainingClaim
{
    /// <summary>The claim's entry in the suite.</summary>
    public static ClaimDefinition Definition { get; } = new("B", ClaimSource.Paper, "LN reaches a target training loss in fewer steps, at matched and at tuned rates", Run);

    /// <summary>The target of a comparison: this many times the worst final smoothed training loss among its LN and unnormalized runs, a loss every run reaches.</summary>
    public const double TargetFactor = 1.2;

    /// <summary>Judges steps to the target loss at each arm's best rate and at every matched rate of the grid.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var seeds = ctx.SeedList("B");
        var grid = RateGridRuns.Run(ctx, seeds);
        var findings = new List<Finding>();
        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        foreach (var (label, ln, none, bn, judged) in grid.Comparisons())
        {
            double target = TargetFactor * ln.Concat(none).Where(r => !r.Summary.Diverged && r.StepLoss.Length > 0).Select(r => Stats.Smooth(r.StepLoss, 0.1)[^1]).DefaultIfEmpty(double.NaN).Max();
            double Steps(RunResult r) => r.Summary.Diverged ? double.PositiveInfinity : VerdictRules.StepsToTarget(r.StepLoss, target);
            var finding = VerdictRules.FasterConvergence(seeds, ln.Select(Steps).ToArray(), none.Select(Steps).ToArray(), label);
            findings.Add(judged ? finding : finding with { Judged = false, Note = "a run diverged at this rate: reported, not judged" });
            if (findings.Count == 1)
                findings.Add(Finding.Report($"steps to the target loss, BN / none, each at its best rate (BN {RateGridRuns.Rate(grid.Best["batch"])})",
                    PairedComparison.Of(EffectScale.Ratio, "BN", "none", seeds, bn.Select(Steps).ToArray(), none.Select(Steps).ToArray()), Threshold.AtMost(VerdictRules.FasterConvergenceRatio, "×")));
            evidence[$"target_train_loss.{label}"] = target;
            rows.Add([label, SuiteContext.Num(target, "F4"), SuiteContext.Num(Stats.Median(ln.Select(Steps))), SuiteContext.Num(Stats.Median(none.Select(Steps))),
                SuiteContext.MeanStd(ln.Select(PaperMlpRuns.TestError)), SuiteContext.MeanStd(none.Select(PaperMlpRuns.TestError))]);
        }
        foreach (var norm in RateGridRuns.Norms) evidence[$"best_lr.{norm}"] = grid.Best[norm];
        var curves = RateGridRuns.Norms.Select(n => PaperMlpRuns.Curve($"{PaperMlpRuns.Label(n)} (lr {RateGridRuns.Rate(grid.Best[n])})", grid.AtBest(n), PaperMlpRuns.TrainingCurve)).ToList();
        return new ClaimResult
        {
            Id = "B",
            Title = $"LN reaches a target training loss in at most {VerdictRules.FasterConvergenceRatio}× the unnormalized net's steps, at each one's best rate and at every matched rate",
            Setup = grid.Setup(ctx, seeds) + $" Target of each comparison: the smoothed (EMA 0.1) training loss falls to {TargetFactor}× the worst final smoothed loss among its LN and unnormalized runs.",
            Rule = $"for each comparison (best rates, then each matched rate), LN's steps to the target / the unnormalized net's, per seed, as a geometric mean ≤ {VerdictRules.FasterConvergenceRatio}× (a saving under 10% is too small to call training shorter); {VerdictRules.IntervalRule}. Supported when every judged comparison is, not supported when any is not. A matched rate at which a run diverged is reported, not judged. BN / none at the best rates is reported.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("target loss, steps to reach it (median over seeds) and final test error (mean ± sd), per comparison", ["comparison", "target", "LN steps", "none steps", "LN test error", "none test error"], rows)],
            Figures = [new Figure("B-train-loss", "B: training NLL at each arm's best rate, smoothed (mean ± sd over seeds)", "epoch", "training NLL (nats)", curves, LogY: true)],
        };
    }
}
