namespace NormSharp.Experiments.Claims;

/// <summary>A: layer normalization does not depend on the mini-batch; batch normalization degrades at batch 4.</summary>
public static class BatchSizeClaim
{
    /// <summary>Runs none/BN/LN at batch 128 and 4 over the seeds and applies <see cref="VerdictRules.BatchSizeIndependence"/>.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        string[] norms = ["none", "batch", "layer"];
        int[] batches = [128, 4];
        var seeds = ctx.SeedList("A");
        var runs = new Dictionary<(string, int), List<RunResult>>();
        foreach (var norm in norms)
            foreach (int b in batches)
                runs[(norm, b)] = seeds.Select(s => ctx.Runner.Run($"A-{norm}-b{b}-s{s}", ctx.Mlp(norm, b, s))).ToList();

        // A diverged run counts as error 1: it is the error a user of that run would see.
        double[] Errors(string norm, int b) => runs[(norm, b)].Select(r => r.Summary.Diverged ? 1.0 : 1 - r.Summary.TestAccuracy).ToArray();
        double Err(string norm, int b) => Stats.Mean(Errors(norm, b));
        var evidence = new Dictionary<string, double>();
        foreach (var norm in norms)
            foreach (int b in batches)
            {
                evidence[$"test_error.{norm}.b{b}"] = Err(norm, b);
                evidence[$"final_train_loss.{norm}.b{b}"] = Stats.Mean(runs[(norm, b)].Select(r => r.Summary.FinalTrainLoss));
            }
        var findings = VerdictRules.BatchSizeIndependence(seeds, Errors("layer", 128), Errors("layer", 4), Errors("batch", 128), Errors("batch", 4));
        evidence["ln_gap"] = Err("layer", 4) - Err("layer", 128);
        evidence["bn_gap"] = Err("batch", 4) - Err("batch", 128);

        var rows = new List<string[]>();
        foreach (var norm in norms)
            foreach (int b in batches)
            {
                var rs = runs[(norm, b)];
                rows.Add([norm, b.ToString(), SuiteContext.MeanStd(rs.Select(r => r.Summary.FinalTrainLoss)), SuiteContext.MeanStd(Errors(norm, b)), rs.Count(r => r.Summary.Diverged).ToString()]);
            }
        var figures = new List<Figure>();
        foreach (var (metric, title, pick) in new (string, string, Func<RunResult, double[]>)[] { ("train-nll", "training NLL per epoch", r => r.EpochTrainLoss), ("test-error", "test error per epoch", r => r.EpochTestError) })
        {
            var series = new List<Series>();
            foreach (var norm in norms)
                foreach (int b in batches)
                {
                    var (m, s) = Stats.Band(runs[(norm, b)].Select(pick).ToList());
                    series.Add(new Series($"{norm} b={b}", Enumerable.Range(1, m.Length).Select(i => (double)i).ToArray(), m, s));
                }
            figures.Add(new Figure($"A-{metric}", $"A: {title} (mean ± sd over {seeds.Count} seeds)", "epoch", metric == "train-nll" ? "train NLL" : "test error", series, LogY: metric == "train-nll"));
        }
        return new ClaimResult
        {
            Id = "A",
            Title = "Layer normalization is independent of the batch size; batch normalization degrades at batch 4",
            Setup = $"MLP 784-{string.Join("-", ctx.Profile.Hidden)}-10 on {ctx.Dataset} ({(ctx.Profile.TrainImages > 0 ? $"{ctx.Profile.TrainImages} training images" : "all training images")}), Adam lr 1e-3, {ctx.Profile.Epochs} epochs, none vs BN vs LN, batch 128 and 4, seeds {SuiteContext.SeedRange(seeds)} (each seed: the same initialization and data order for every arm). Test error uses BN's running statistics; a diverged run counts as error 1.",
            Rule = $"three comparisons of test error: LN(b4) − LN(b128) within ±{VerdictRules.BatchSizeTolerance}, BN(b4) − BN(b128) ≥ {VerdictRules.BatchSizeTolerance}, and BN(b4) − LN(b4) ≥ {VerdictRules.BatchSizeTolerance} (two points of error, about a third of the error these networks reach); {VerdictRules.IntervalRule}. The claim is supported when all three are, not supported when any is not.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("final training NLL and test error (mean ± sd over seeds)", ["norm", "batch", "train NLL", "test error", "diverged"], rows)],
            Figures = figures,
        };
    }
}
