namespace NormSharp.Experiments.Claims;

/// <summary>C: with layer normalization, larger learning rates still train.</summary>
public static class LearningRateClaim
{
    /// <summary>Sweeps the profile's learning rates with SGD (momentum 0.9) for none/BN/LN over the seeds.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        string[] norms = ["none", "batch", "layer"];
        var rates = ctx.Profile.SweepRates;
        var seeds = ctx.SeedList("C");
        var runs = new Dictionary<(string, double), List<RunResult>>();
        foreach (var norm in norms)
            foreach (double lr in rates)
                runs[(norm, lr)] = seeds.Select(s => ctx.Runner.Run($"C-{norm}-lr{lr:0.#####}-s{s}",
                    ctx.Mlp(norm, 128, s) with { Optimizer = Recipes.OptimizerKind.Sgd, Momentum = 0.9, LearningRate = lr, TrainLimit = ctx.Profile.SweepImages, Epochs = 4 })).ToList();

        double DivergedFraction(string norm, double lr) => runs[(norm, lr)].Count(r => r.Summary.Diverged) / (double)runs[(norm, lr)].Count;
        // A rate works when at most a third of the seeds diverge and the rest learn: their best loss is below
        // half the loss of a uniform guess over the 10 classes. Not diverging while staying at chance is not training.
        double learning = Math.Log(10) / 2;
        bool Works(string norm, double lr) => DivergedFraction(norm, lr) <= 1.0 / 3 && BestLoss(norm, lr) < learning;
        double MaxStable(string norm) => rates.Where(lr => Works(norm, lr)).DefaultIfEmpty(0).Max();
        double BestLoss(string norm, double lr) => runs[(norm, lr)].Where(r => !r.Summary.Diverged).Select(RunBestLoss).DefaultIfEmpty(double.NaN).Average();
        static double RunBestLoss(RunResult r) => r.StepLoss.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min();
        // Per seed: the largest rate at which that seed's run did not diverge and learned (0 when none did).
        bool RunWorks(RunResult r) => !r.Summary.Diverged && RunBestLoss(r) < learning;
        double[] MaxWorkingPerSeed(string norm) => seeds.Select((_, i) => rates.Where(lr => RunWorks(runs[(norm, lr)][i])).DefaultIfEmpty(0).Max()).ToArray();

        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        foreach (var norm in norms)
        {
            evidence[$"max_working_lr.{norm}"] = MaxStable(norm);
            foreach (double lr in rates)
            {
                evidence[$"diverged_fraction.{norm}.lr{lr:G3}"] = DivergedFraction(norm, lr);
                evidence[$"best_loss.{norm}.lr{lr:G3}"] = BestLoss(norm, lr);
            }
        }
        foreach (double lr in rates)
            rows.Add([SuiteContext.Num(lr), .. norms.SelectMany(n => new[] { $"{DivergedFraction(n, lr):P0}", SuiteContext.Num(BestLoss(n, lr), "F3") })]);
        bool noneDiverged = rates.Any(lr => DivergedFraction("none", lr) > 0);
        var findings = new List<Finding> { VerdictRules.LargerLearningRates(seeds, MaxWorkingPerSeed("layer"), MaxWorkingPerSeed("none"), rates.Max()) };
        if (!noneDiverged && findings[0].Verdict != Verdict.Inconclusive)
            findings[0] = findings[0] with { Verdict = Verdict.Inconclusive, Note = "the unnormalized net never diverged in the sweep: the sweep cannot tell" };
        var divFig = norms.Select(n => new Series(n, rates, rates.Select(lr => DivergedFraction(n, lr)).ToArray())).ToList();
        var lossFig = norms.Select(n => new Series(n, rates, rates.Select(lr => BestLoss(n, lr)).ToArray())).ToList();
        return new ClaimResult
        {
            Id = "C",
            Title = "Layer normalization tames exploding gradients, so larger learning rates work",
            Setup = $"MLP 784-{string.Join("-", ctx.Profile.Hidden)}-10 on {ctx.Profile.SweepImages} {ctx.Dataset} images, SGD with momentum 0.9, batch 128, 4 epochs, learning rates {string.Join(", ", rates)}, none vs BN vs LN, seeds {SuiteContext.SeedRange(seeds)} (each seed: the same initial weights and data order for every method and rate). A run diverges when its loss becomes non-finite or its 20-step average rises 10× above its best.",
            Rule = $"a run works when it does not diverge and its best training loss is below ln(10)/2 ≈ 1.15, half the loss of a uniform guess; per seed, each method's largest working rate; LN's / the unnormalized net's, as a geometric mean over seeds, ≥ {VerdictRules.LargerRateRatio}× (one step of the rate grid); {VerdictRules.IntervalRule}. Inconclusive whatever the interval when the unnormalized net never diverged in the sweep or still works at its largest rate (the sweep cannot tell). The table's per-rate summary counts a rate as working for a method when at most a third of its seeds diverge and the others learn.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("fraction of seeds diverged and best training loss of the others, per learning rate", ["lr", "none div.", "none loss", "BN div.", "BN loss", "LN div.", "LN loss"], rows)],
            Figures =
            [
                new Figure("C-divergence", "C: fraction of runs that diverged", "learning rate", "diverged fraction", divFig, LogX: true),
                new Figure("C-best-loss", "C: best training loss of the runs that did not diverge", "learning rate", "best training loss", lossFig, LogX: true, LogY: true),
            ],
        };
    }
}
