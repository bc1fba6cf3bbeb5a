using System.Globalization;
using NormSharp.Experiments.Recipes;
using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// C: with layer normalization a wider range of learning rates trains well (the article's "LN tames exploding
/// gradients, so larger updates work"), for SGD with momentum and for Adam; with the per-layer weight norms and
/// relative updates of the paper's Section 5.2 (the implicit learning-rate reduction) logged alongside.
/// </summary>
public static class LearningRateClaim
{
    /// <summary>The claim's entry in the suite.</summary>
    public static ClaimDefinition Definition { get; } = new("C", ClaimSource.Article, "LN widens the window of learning rates that train well (SGD and Adam)", Run);

    private static readonly string[] Norms = ["none", "layer"];

    /// <summary>Sweeps the profile's rates for both optimizers, none vs LN, and compares each method's window around its own best rate.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var p = ctx.Profile;
        var seeds = ctx.SeedList("C");
        int images = ctx.TrainCount(p.SweepImages);
        long steps = (long)Math.Ceiling(images / 128.0) * p.SweepEpochs;
        var optimizers = new (OptimizerKind Kind, string Name, double[] Rates)[] { (OptimizerKind.Sgd, "SGD", p.SgdRates), (OptimizerKind.Adam, "Adam", p.AdamRates) };
        var findings = new List<Finding>();
        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        var weightRows = new List<string[]>();
        var figures = new List<Figure>();
        foreach (var (kind, name, rates) in optimizers)
        {
            var runs = new Dictionary<(string, double), List<RunResult>>();
            foreach (var norm in Norms)
                foreach (double lr in rates)
                    runs[(norm, lr)] = seeds.Select(s => ctx.Runner.Run($"C-{name.ToLowerInvariant()}-{norm}-lr{RateGridRuns.Rate(lr)}-s{s}", ctx.Mlp(norm, 128, s) with
                    {
                        Optimizer = kind,
                        Momentum = 0.9,
                        LearningRate = lr,
                        TrainLimit = images,
                        Epochs = p.SweepEpochs,
                        WeightMetricsEvery = Math.Max(1, steps / 16),
                    })).ToList();
            // A diverged run, or one whose held-out loss is not a number, does not work at that rate.
            static double HeldOut(RunResult r) => r.Summary.Diverged || !double.IsFinite(r.Summary.TestLoss) ? double.PositiveInfinity : r.Summary.TestLoss;
            var windows = Norms.ToDictionary(n => n, n => seeds.Select((_, i) => VerdictRules.WorkingWindow(rates, rates.Select(lr => HeldOut(runs[(n, lr)][i])).ToArray())).ToArray());
            int[] BestIndex(string n) => windows[n].Select(w => Math.Max(0, w.Best)).ToArray();
            findings.Add(VerdictRules.RateWindow(seeds, name, windows["layer"].Select(w => w.Decades).ToArray(), windows["none"].Select(w => w.Decades).ToArray(),
                windows["layer"].Select(w => w.Censored).ToArray(), windows["none"].Select(w => w.Censored).ToArray()));
            findings.Add(Finding.Report($"best learning rate ({name}), LN / none", PairedComparison.Of(EffectScale.Ratio, "LN", "none", seeds,
                BestIndex("layer").Select(k => rates[k]).ToArray(), BestIndex("none").Select(k => rates[k]).ToArray()), Threshold.AtLeast(1, "×")));

            // The paper's Section 5.2: with LN the weights grow and the same step moves them relatively less. Measured at each method's best rate.
            double Growth(RunResult r) => r.Weights.TryGetValue("layers.0", out var w) && w.WeightNorm.Length > 1 ? w.WeightNorm[^1] / w.WeightNorm[0] : double.NaN;
            double LateRatio(RunResult r) => r.Weights.TryGetValue("layers.0", out var w) && w.UpdateRatio.Length > 0 ? w.UpdateRatio[^1] : double.NaN;
            double EarlyRatio(RunResult r) => r.Weights.TryGetValue("layers.0", out var w) && w.UpdateRatio.Length > 0 ? w.UpdateRatio[0] : double.NaN;
            var atBest = Norms.ToDictionary(n => n, n => BestIndex(n).Select((k, i) => runs[(n, rates[k])][i]).ToArray());
            findings.Add(Finding.Report($"growth of the first layer's ‖W‖ over the run ({name}, each at its best rate), LN / none",
                PairedComparison.Of(EffectScale.Ratio, "LN", "none", seeds, atBest["layer"].Select(Growth).ToArray(), atBest["none"].Select(Growth).ToArray()), Threshold.AtLeast(1, "×")));
            foreach (var n in Norms)
            {
                evidence[$"window_decades.{name}.{n}"] = Stats.Mean(windows[n].Select(w => w.Decades));
                weightRows.Add([name, PaperMlpRuns.Label(n), SuiteContext.MeanStd(atBest[n].Select(Growth), "F3"), SuiteContext.MeanStd(atBest[n].Select(EarlyRatio), "G3"), SuiteContext.MeanStd(atBest[n].Select(LateRatio), "G3")]);
            }
            foreach (double lr in rates)
                rows.Add([name, RateGridRuns.Rate(lr), .. Norms.SelectMany(n => new[]
                {
                    $"{runs[(n, lr)].Count(r => r.Summary.Diverged)}/{seeds.Count}",
                    SuiteContext.Num(Stats.Median(runs[(n, lr)].Select(HeldOut)), "F3"),
                    $"{windows[n].Count(w => w.Contains(Array.IndexOf(rates, lr)))}/{seeds.Count}",
                })]);
            figures.Add(new Figure($"C-{name.ToLowerInvariant()}-heldout-loss", $"C ({name}): final held-out loss per learning rate (median over seeds)", "learning rate", "final held-out loss (nats)",
                Norms.Select(n => new Series(PaperMlpRuns.Label(n), rates, rates.Select(lr => Stats.Median(runs[(n, lr)].Select(HeldOut))).Select(v => double.IsFinite(v) ? v : double.NaN).ToArray())).ToList(), LogX: true, LogY: true));
            figures.Add(new Figure($"C-{name.ToLowerInvariant()}-update-ratio", $"C ({name}): relative update ‖ΔW‖/‖W‖ of the first layer at each one's best rate (mean ± sd over seeds)", "step", "‖ΔW‖/‖W‖ per step",
                Norms.Select(n => PaperMlpRuns.Curve(PaperMlpRuns.Label(n), atBest[n], r => r.Weights.TryGetValue("layers.0", out var w) ? (w.Steps, w.UpdateRatio) : ([], []))).ToList(), LogY: true));
        }
        return new ClaimResult
        {
            Id = "C",
            Title = $"LN widens the window of learning rates whose final held-out loss is within {VerdictRules.WorkingLossFactor}× of the best by at least {VerdictRules.RateWindowWidening} decades, with SGD (momentum 0.9) and with Adam",
            Setup = $"MLP 784-{string.Join("-", p.Hidden)}-10 on {ctx.DataText(p.SweepImages)}, none vs LN, batch 128, {p.SweepEpochs} epoch(s) ({steps} steps) per run; SGD with momentum 0.9 at {string.Join(", ", p.SgdRates.Select(RateGridRuns.Rate))}; Adam at {string.Join(", ", p.AdamRates.Select(RateGridRuns.Rate))}; seeds {SuiteContext.SeedRange(seeds)} (each seed: the same initial dense weights and data order for every method and rate). " +
                $"Final held-out loss on the whole test set; a diverged run does not work. Per layer, ‖W‖ and ‖ΔW‖/‖W‖ are logged every {Math.Max(1, steps / 16)} steps (the paper's Section 5.2: with normalization the weights grow and the effective learning rate falls).",
            Rule = $"per seed and method, the window of working rates: the contiguous swept rates around the method's own best (lowest final held-out loss) whose loss is at most {VerdictRules.WorkingLossFactor}× the best, in decades (log10 of its largest over smallest rate, plus one half-decade grid step); LN's window − the unnormalized net's ≥ {VerdictRules.RateWindowWidening} decades, for each optimizer; {VerdictRules.IntervalRule}. A window touching an end of the grid is a lower bound: inconclusive when the unnormalized net's does (for support), or LN's does (against). Supported when both optimizers are, not supported when either is not. The best rates and the weight growth are reported.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables =
            [
                new ReportTable("per rate: runs diverged, final held-out loss (median over seeds), seeds for which the rate is in the method's window", ["optimizer", "lr", "none div.", "none loss", "none in window", "LN div.", "LN loss", "LN in window"], rows),
                new ReportTable("first layer at each method's best rate (mean ± sd over seeds): ‖W‖ at the end over ‖W‖ at the start, and ‖ΔW‖/‖W‖ of the first and the last measured step", ["optimizer", "norm", "‖W‖ growth", "‖ΔW‖/‖W‖ first", "‖ΔW‖/‖W‖ last"], weightRows),
            ],
            Figures = figures,
        };
    }
}
