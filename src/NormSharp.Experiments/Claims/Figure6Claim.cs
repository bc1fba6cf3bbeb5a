using System.Globalization;
using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// L, the paper's Fig. 6: on the permutation-invariant MLP, layer normalization "is robust to the batch-sizes and
/// exhibits a faster training convergence comparing to batch normalization", at batch 128 and at batch 4.
/// </summary>
public static class Figure6Claim
{
    /// <summary>The claim's entry in the suite.</summary>
    public static ClaimDefinition Definition { get; } = new("L", ClaimSource.Paper, "the paper's Fig. 6: LN trains faster than BN at batch 128 and at batch 4", Run);

    /// <summary>Compares LN with BN on A's runs at each batch size (<see cref="VerdictRules.Figure6"/>).</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var seeds = ctx.SeedList("L");
        string[] norms = ["batch", "layer"];
        var runs = PaperMlpRuns.All(ctx, seeds, norms);
        double[] Area(string norm, int b) => runs[(norm, b)].Select(PaperMlpRuns.MeanTrainingLoss).ToArray();
        double[] ErrorArea(string norm, int b) => runs[(norm, b)].Select(r => r.Summary.Diverged ? 1.0 : Stats.Mean(r.EvalError)).ToArray();
        double[] Errors(string norm, int b) => runs[(norm, b)].Select(PaperMlpRuns.TestError).ToArray();
        var findings = new List<Finding>();
        foreach (int b in PaperMlpRuns.Batches) findings.Add(VerdictRules.Figure6(seeds, b, Area("layer", b), Area("batch", b)));
        foreach (int b in PaperMlpRuns.Batches)
        {
            findings.Add(Finding.Report($"mean held-out error over the run, LN − BN, batch {b}",
                PairedComparison.Of(EffectScale.Difference, "LN", "BN", seeds, ErrorArea("layer", b), ErrorArea("batch", b)), Threshold.AtMost(0)));
            findings.Add(Finding.Report($"final test error, LN − BN, batch {b}",
                PairedComparison.Of(EffectScale.Difference, "LN", "BN", seeds, Errors("layer", b), Errors("batch", b)), Threshold.AtMost(0)));
        }

        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        foreach (int b in PaperMlpRuns.Batches)
            foreach (var norm in norms)
            {
                evidence[$"mean_train_nll.{norm}.b{b}"] = Stats.Mean(Area(norm, b));
                evidence[$"mean_heldout_error.{norm}.b{b}"] = Stats.Mean(ErrorArea(norm, b));
                evidence[$"test_error.{norm}.b{b}"] = Stats.Mean(Errors(norm, b));
                rows.Add([b.ToString(CultureInfo.InvariantCulture), PaperMlpRuns.Label(norm), SuiteContext.MeanStd(Area(norm, b)), SuiteContext.MeanStd(ErrorArea(norm, b)), SuiteContext.MeanStd(Errors(norm, b))]);
            }
        var figures = new List<Figure>();
        foreach (int b in PaperMlpRuns.Batches)
        {
            figures.Add(new Figure($"L-b{b}-train-nll", $"L (Fig. 6), batch {b}: training NLL, smoothed (mean ± sd over {seeds.Count} seeds)", "epoch", "training NLL (nats)",
                norms.Select(n => PaperMlpRuns.Curve(PaperMlpRuns.Label(n), runs[(n, b)], PaperMlpRuns.TrainingCurve)).ToList(), LogY: true));
            figures.Add(new Figure($"L-b{b}-test-error", $"L (Fig. 6), batch {b}: held-out error (mean ± sd over {seeds.Count} seeds)", "epoch", "held-out error (fraction misclassified)",
                norms.Select(n => PaperMlpRuns.Curve(PaperMlpRuns.Label(n), runs[(n, b)], PaperMlpRuns.ErrorCurve)).ToList(), LogY: true));
        }
        return new ClaimResult
        {
            Id = "L",
            Title = $"The paper's Fig. 6: LN's training NLL over the run is at most {VerdictRules.Figure6AreaRatio}× BN's, at batch 128 and at batch 4",
            Setup = PaperMlpRuns.Setup(ctx, seeds, norms) + " These are claim A's LN and BN runs. Training NLL is the logged mini-batch loss in training mode (for BN: normalized with the batch's own statistics, as it trains), averaged over every step of the run.",
            Rule = $"at each batch size, LN's mean training NLL over the run / BN's, per seed, as a geometric mean ≤ {VerdictRules.Figure6AreaRatio}× (a 10% lower area under the learning curve, the bar of claim B for \"faster\"); {VerdictRules.IntervalRule}. Supported when both batch sizes are, not supported when either is not. Reported, not judged: the held-out error averaged over the run's checks and the final test error, LN − BN.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("training NLL and held-out error averaged over the run, final test error (mean ± sd over seeds)", ["batch", "norm", "mean train NLL", "mean held-out error", "final test error"], rows)],
            Figures = figures,
        };
    }
}
