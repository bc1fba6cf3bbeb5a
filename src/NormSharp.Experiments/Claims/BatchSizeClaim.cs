using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments.Claims;

/// <summary>A: layer normalization does not depend on the mini-batch size; batch normalization degrades at batch 4.</summary>
public static class BatchSizeClaim
{
    /// <summary>The claim's entry in the suite.</summary>
    public static ClaimDefinition Definition { get; } = new("A", ClaimSource.Paper, "batch-size independence: LN's test error at batch 4 vs 128, and BN's", Run);

    /// <summary>Runs none/BN/LN/WN at batch 128 and 4 over the seeds and applies <see cref="VerdictRules.BatchSizeIndependence"/>.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var seeds = ctx.SeedList("A");
        var runs = PaperMlpRuns.All(ctx, seeds);
        var norms = PaperMlpRuns.Norms.Where(n => runs.ContainsKey((n, 4))).ToArray();
        double[] Errors(string norm, int b) => runs[(norm, b)].Select(PaperMlpRuns.TestError).ToArray();
        var findings = VerdictRules.BatchSizeIndependence(seeds, Errors("layer", 128), Errors("layer", 4), Errors("batch", 128), Errors("batch", 4)).ToList();
        // Weight normalization (the paper's Table 1 third method) and the plain net do not depend on the batch either: reported beside the claim.
        foreach (var norm in new[] { "weight", "none" }.Where(norms.Contains))
            findings.Add(Finding.Report($"{PaperMlpRuns.Label(norm)} test error, batch 4 − batch 128",
                PairedComparison.Of(EffectScale.Difference, $"{PaperMlpRuns.Label(norm)} b4", $"{PaperMlpRuns.Label(norm)} b128", seeds, Errors(norm, 4), Errors(norm, 128)),
                Threshold.Within(VerdictRules.BatchSizeTolerance)));
        if (norms.Contains("weight"))
            findings.Add(Finding.Report("test error at batch 4, WN − LN",
                PairedComparison.Of(EffectScale.Difference, "WN b4", "LN b4", seeds, Errors("weight", 4), Errors("layer", 4)), Threshold.AtLeast(VerdictRules.BatchSizeTolerance)));

        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        foreach (var norm in norms)
            foreach (int b in PaperMlpRuns.Batches)
            {
                var rs = runs[(norm, b)];
                evidence[$"test_error.{norm}.b{b}"] = Stats.Mean(Errors(norm, b));
                evidence[$"final_train_loss.{norm}.b{b}"] = Stats.Mean(rs.Select(r => r.Summary.FinalTrainLoss));
                evidence[$"samples_per_second.{norm}.b{b}"] = Stats.Median(rs.Select(r => r.Summary.SamplesPerSecond));
                rows.Add([PaperMlpRuns.Label(norm), b.ToString(System.Globalization.CultureInfo.InvariantCulture), SuiteContext.MeanStd(rs.Select(r => r.Summary.FinalTrainLoss)),
                    SuiteContext.MeanStd(Errors(norm, b)), rs.Count(r => r.Summary.Diverged).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    SuiteContext.Num(Stats.Median(rs.Select(r => r.Summary.SamplesPerSecond)), "F0")]);
            }
        var figures = new List<Figure>
        {
            new("A-test-error", $"A: held-out error during training (mean ± sd over {seeds.Count} seeds)", "epoch", "held-out error (fraction misclassified)",
                norms.SelectMany(n => PaperMlpRuns.Batches.Select(b => PaperMlpRuns.Curve($"{PaperMlpRuns.Label(n)} b{b}", runs[(n, b)], PaperMlpRuns.ErrorCurve))).ToList(), LogY: true),
            new("A-train-nll", $"A: training NLL, smoothed (mean ± sd over {seeds.Count} seeds)", "epoch", "training NLL (nats)",
                norms.SelectMany(n => PaperMlpRuns.Batches.Select(b => PaperMlpRuns.Curve($"{PaperMlpRuns.Label(n)} b{b}", runs[(n, b)], PaperMlpRuns.TrainingCurve))).ToList(), LogY: true),
        };
        double tol = VerdictRules.BatchSizeTolerance;
        return new ClaimResult
        {
            Id = "A",
            Title = $"LN's test error changes by less than {tol:G2} between batch 128 and batch 4, while BN's rises by at least {tol:G2} and ends at least {tol:G2} above LN's",
            Setup = PaperMlpRuns.Setup(ctx, seeds, norms) + " A diverged run counts as error 1." + (norms.Contains("none") ? "" : " The unnormalized net is trained by the full profile only."),
            Rule = $"three comparisons of test error: LN(b4) − LN(b128) within ±{tol}, BN(b4) − BN(b128) ≥ {tol}, and BN(b4) − LN(b4) ≥ {tol} (two points of error, about a third of the error these networks reach); {VerdictRules.IntervalRule}. The claim is supported when all three are, not supported when any is not. Reported, not judged: the same batch-size change for weight normalization (WN) and the plain net (when trained), and WN − LN at batch 4.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("final training NLL and test error (mean ± sd over seeds), and training speed (median over seeds)", ["norm", "batch", "train NLL", "test error", "diverged", "samples/s"], rows)],
            Figures = figures,
        };
    }
}
