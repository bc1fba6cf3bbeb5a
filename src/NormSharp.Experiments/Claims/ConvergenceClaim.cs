using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments.Claims;

/// <summary>B: layer normalization reaches a target loss in fewer steps; E: its loss curve fluctuates less.</summary>
public static class ConvergenceClaim
{
    /// <summary>Learning rates tried per method on the first seed; the best (lowest final training loss) is used for all seeds.</summary>
    public static readonly double[] Grid = [3e-4, 1e-3, 3e-3];

    /// <summary>Steps between evaluations of the held-out loss, which the convergence detector watches.</summary>
    public const int EvalEvery = 10;

    /// <summary>Runs the tuned runs and returns both claims (they share the runs).</summary>
    public static (ClaimResult B, ClaimResult E) Run(SuiteContext ctx)
    {
        string[] norms = ["none", "batch", "layer"];
        // B and E judge the same runs, so they share B's seeds.
        var seeds = ctx.SeedList("B");
        var chosen = new Dictionary<string, double>();
        var runs = new Dictionary<string, List<RunResult>>();
        foreach (var norm in norms)
        {
            var tuning = Grid.Select(lr => (lr, ctx.Runner.Run($"B-{norm}-lr{lr:0.####}-s1", ctx.Mlp(norm, 128, 1) with { LearningRate = lr, EvalEvery = EvalEvery }))).ToList();
            var best = tuning.Where(t => !t.Item2.Summary.Diverged).OrderBy(t => t.Item2.Summary.FinalTrainLoss).Select(t => t.lr).DefaultIfEmpty(Grid[0]).First();
            chosen[norm] = best;
            runs[norm] = seeds.Select(s => ctx.Runner.Run($"B-{norm}-lr{best:0.####}-s{s}", ctx.Mlp(norm, 128, s) with { LearningRate = best, EvalEvery = EvalEvery })).ToList();
        }

        // Target: a loss every method can reach, set from the worst final loss among the tuned runs.
        double target = 1.2 * runs.Values.SelectMany(r => r).Max(r => Stats.Smooth(r.StepLoss, 0.1)[^1]);
        double Steps(RunResult r) => VerdictRules.StepsToTarget(r.StepLoss, target);
        double Millis(RunResult r)
        {
            double s = Steps(r);
            return double.IsPositiveInfinity(s) ? s : r.StepMilliseconds.Take((int)s).Sum();
        }
        var evidenceB = new Dictionary<string, double> { ["target_train_loss"] = target };
        var evidenceE = new Dictionary<string, double>();
        var rowsB = new List<string[]>();
        var rowsE = new List<string[]>();
        var validation = new List<Series>();
        foreach (var norm in norms)
        {
            var rs = runs[norm];
            double medianSteps = Stats.Median(rs.Select(Steps));
            double medianMs = Stats.Median(rs.Select(Millis));
            evidenceB[$"lr.{norm}"] = chosen[norm];
            evidenceB[$"median_steps_to_target.{norm}"] = medianSteps;
            evidenceB[$"median_ms_to_target.{norm}"] = medianMs;
            evidenceB[$"test_error.{norm}"] = Stats.Mean(rs.Select(r => 1 - r.Summary.TestAccuracy));
            rowsB.Add([norm, SuiteContext.Num(chosen[norm]), SuiteContext.Num(medianSteps), SuiteContext.Num(medianMs, "F0"),
                SuiteContext.Num(Stats.Median(rs.Select(r => EpochsToAccuracy(r, AccuracyTarget(runs))))), SuiteContext.MeanStd(rs.Select(r => 1 - r.Summary.TestAccuracy))]);
            double fluct = Stats.Mean(rs.Select(r => VerdictRules.Fluctuation(r.StepLoss)));
            double plateau = Stats.Median(rs.Select(r => PlateauOfValidation(r)));
            double testAccTarget = AccuracyTarget(runs);
            double epochsToAcc = Stats.Median(rs.Select(r => EpochsToAccuracy(r, testAccTarget)));
            evidenceB[$"median_epochs_to_test_accuracy.{norm}"] = epochsToAcc;
            evidenceB["target_test_accuracy"] = testAccTarget;
            evidenceE[$"fluctuation.{norm}"] = fluct;
            evidenceE[$"plateau_step.{norm}"] = plateau;
            rowsE.Add([norm, SuiteContext.MeanStd(rs.Select(r => VerdictRules.Fluctuation(r.StepLoss))), SuiteContext.Num(plateau), SuiteContext.Num(rs[0].StepLoss.Length)]);
            var (vm, vs) = Stats.Band(rs.Select(r => r.EvalLoss).ToList());
            validation.Add(new Series(norm, rs[0].EvalSteps.Take(vm.Length).ToArray(), vm, vs));
        }
        double[] PerSeed(string norm, Func<RunResult, double> measure) => runs[norm].Select(measure).ToArray();
        var findingsB = new List<Finding>
        {
            VerdictRules.FasterConvergence(seeds, PerSeed("layer", Steps), PerSeed("none", Steps)),
            Finding.Report("steps to the target loss, BN / none", PairedComparison.Of(EffectScale.Ratio, "BN", "none", seeds, PerSeed("batch", Steps), PerSeed("none", Steps)),
                Threshold.AtMost(VerdictRules.FasterConvergenceRatio, "×")),
        };
        double Fluct(RunResult r) => VerdictRules.Fluctuation(r.StepLoss);
        var findingsE = new List<Finding>
        {
            VerdictRules.SmootherLoss(seeds, PerSeed("layer", Fluct), PerSeed("none", Fluct)),
            Finding.Report("loss fluctuation, BN / none", PairedComparison.Of(EffectScale.Ratio, "BN", "none", seeds, PerSeed("batch", Fluct), PerSeed("none", Fluct)),
                Threshold.AtMost(VerdictRules.SmootherLossRatio, "×")),
        };

        var curves = norms.Select(norm =>
        {
            var (m, s) = Stats.Band(runs[norm].Select(r => Stats.Smooth(r.StepLoss, 0.1)).ToList());
            return new Series($"{norm} (lr {chosen[norm]:G2})", Enumerable.Range(1, m.Length).Select(i => (double)i).ToArray(), m, s);
        }).ToList();
        var raw = norms.Select(norm => new Series(norm, Enumerable.Range(1, runs[norm][0].StepLoss.Length).Select(i => (double)i).ToArray(), runs[norm][0].StepLoss)).ToList();
        string setup = $"MLP 784-{string.Join("-", ctx.Profile.Hidden)}-10 on {ctx.Dataset}, batch 128, Adam, learning rate tuned per method over {{{string.Join(", ", Grid)}}} on seed 1 (lowest final training loss), then seeds {SuiteContext.SeedRange(seeds)} at the chosen rate (each seed: the same initial weights and data order for every method), {ctx.Profile.Epochs} epochs.";
        var b = new ClaimResult
        {
            Id = "B",
            Title = "Layer normalization shortens training (reaches a target loss in fewer steps)",
            Setup = setup + $" Target: the smoothed (EMA 0.1) training loss falls to {target:F4} (1.2× the worst method's final smoothed loss). Also reported: the first epoch at which test accuracy reaches {evidenceB["target_test_accuracy"]:P2} (99% of the lowest mean final accuracy among the methods).",
            Rule = $"with the first step at which each run's smoothed training loss reaches the target: LN's steps / the unnormalized net's, per seed, as a geometric mean ≤ {VerdictRules.FasterConvergenceRatio}× (a saving under 10% is too small to call training shorter); {VerdictRules.IntervalRule}. BN / none is reported, not judged.",
            Findings = findingsB,
            Seeds = seeds,
            Evidence = evidenceB,
            Tables = [new ReportTable("steps and milliseconds to the target loss (median over seeds), and final test error", ["norm", "lr", "steps", "ms", "epochs to test accuracy", "test error"], rowsB)],
            Figures = [new Figure("B-train-loss", "B: smoothed training loss per step (mean ± sd over seeds)", "step", "training loss", curves, LogY: true)],
        };
        var e = new ClaimResult
        {
            Id = "E",
            Title = "Layer normalization smooths the loss curve, so convergence is easier to judge",
            Setup = setup + $" Fluctuation: std of step-to-step loss changes divided by the mean loss over the second half of training. Convergence detector: the held-out loss is measured every {EvalEvery} steps; the detector fires at the first measurement at which its EMA(0.3)-smoothed value improved by less than 1% over the last 5 measurements.",
            Rule = $"LN's fluctuation / the unnormalized net's, per seed, as a geometric mean ≤ {VerdictRules.SmootherLossRatio}×; {VerdictRules.IntervalRule}. BN / none and the detector's step are reported, not judged.",
            Findings = findingsE,
            Seeds = seeds,
            Evidence = evidenceE,
            Tables = [new ReportTable("loss fluctuation (mean ± sd over seeds) and the step at which the plateau detector fires (median)", ["norm", "fluctuation", "plateau step", "steps run"], rowsE)],
            Figures =
            [
                new Figure("E-raw-loss", "E: raw training loss per step (seed 1)", "step", "training loss", raw, LogY: true),
                new Figure("E-validation-loss", $"E: held-out loss every {EvalEvery} steps (mean ± sd over seeds)", "step", "held-out loss", validation),
            ],
        };
        return (b, e);
    }

    /// <summary>The step at which the plateau test on the smoothed held-out loss fires, or +∞.</summary>
    private static double PlateauOfValidation(RunResult r)
    {
        double at = VerdictRules.PlateauStep(r.EvalLoss, window: 5, relative: 0.01, alpha: 0.3);
        return double.IsPositiveInfinity(at) ? at : r.EvalSteps[(int)at - 1];
    }

    /// <summary>A test accuracy every method reaches on average: 99% of the lowest mean final accuracy.</summary>
    private static double AccuracyTarget(Dictionary<string, List<RunResult>> runs) =>
        0.99 * runs.Values.Min(rs => Stats.Mean(rs.Select(r => r.Summary.TestAccuracy)));

    /// <summary>The first epoch (1-based) whose test accuracy reaches <paramref name="target"/>, or +∞.</summary>
    private static double EpochsToAccuracy(RunResult r, double target)
    {
        for (int e = 0; e < r.EpochTestError.Length; e++)
            if (1 - r.EpochTestError[e] >= target) return e + 1;
        return double.PositiveInfinity;
    }
}
