using NormSharp.Layers;
using NormSharp.Tensors;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments.Claims;

/// <summary>D: in a deep MLP, layer normalization keeps the per-layer gradient norms in a narrow band.</summary>
public static class GradientFlowClaim
{
    /// <summary>Trains the deep MLP briefly for tanh and ReLU, none vs LN, and compares per-layer gradient norms.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        int depth = ctx.Profile.DeepLayers, width = ctx.Profile.DeepWidth;
        string[] acts = ["tanh", "relu"];
        string[] norms = ["none", "layer"];
        var seeds = ctx.SeedList("D");
        var evidence = new Dictionary<string, double>();
        var spreads = new List<(string Activation, IReadOnlyList<double> None, IReadOnlyList<double> Ln)>();
        var figures = new List<Figure>();
        var rows = new List<string[]>();
        foreach (var act in acts)
        {
            var spreadByNorm = new Dictionary<string, double[]>();
            var series = new List<Series>();
            foreach (var norm in norms)
            {
                TrainingConfig Config(ulong s) => ctx.Mlp(norm, 128, s) with
                {
                    Hidden = Enumerable.Repeat(width, depth - 1).ToArray(),
                    Activation = Spelling.Parse<NormSharp.Autograd.F.Activation>(act, "activation"),
                    Epochs = 1,
                    TrainLimit = 2048,
                    Standardize = true,
                };
                var runs = seeds.Select(s => ctx.Runner.Run($"D-{act}-{norm}-s{s}", Config(s))).ToList();
                // The dense layers' parameter groups, in depth order.
                var probe = ModelFactory.BuildModel(Config(1), 28, 28, 10, new Rng(1));
                var linears = probe.NamedModules().Where(m => m.Module is Linear).Select(m => m.Name).ToList();
                double[] Layerwise(RunResult r, bool first) => linears.Select(n => first ? r.GroupGradNorms[n].First : r.GroupGradNorms[n].Last).ToArray();
                var (initMean, initSd) = Stats.Band(runs.Select(r => Layerwise(r, true)).ToList());
                var (lastMean, lastSd) = Stats.Band(runs.Select(r => Layerwise(r, false)).ToList());
                var perSeed = runs.Select(r => Spread(Layerwise(r, true))).ToArray();
                double spread = Stats.Mean(perSeed);
                double spreadAfter = Stats.Mean(runs.Select(r => Spread(Layerwise(r, false))));
                spreadByNorm[norm] = perSeed;
                evidence[$"init_spread_decades.{act}.{norm}"] = spread;
                evidence[$"trained_spread_decades.{act}.{norm}"] = spreadAfter;
                evidence[$"first_layer_grad.{act}.{norm}"] = initMean[0];
                evidence[$"last_layer_grad.{act}.{norm}"] = initMean[^1];
                var x = Enumerable.Range(1, linears.Count).Select(i => (double)i).ToArray();
                series.Add(new Series($"{norm}, at init", x, initMean, initSd));
                series.Add(new Series($"{norm}, after {runs[0].StepLoss.Length} steps", x, lastMean, lastSd));
                rows.Add([act, norm, SuiteContext.Num(initMean[0]), SuiteContext.Num(initMean[^1]), SuiteContext.Num(spread, "F2"), SuiteContext.Num(spreadAfter, "F2")]);
            }
            spreads.Add((act, spreadByNorm["none"], spreadByNorm["layer"]));
            figures.Add(new Figure($"D-{act}", $"D: gradient norm per dense layer, {depth}-layer {act} MLP", "layer (input side = 1)", "‖∂L/∂W‖ (mean over seeds)", series, LogY: true));
        }
        return new ClaimResult
        {
            Id = "D",
            Title = "Layer normalization keeps gradients from vanishing or exploding through depth",
            Setup = $"MLP with {depth} dense layers of width {width} (tanh and ReLU), none vs LN, on 2048 {ctx.Dataset} images, batch 128, Adam lr 1e-3, one epoch, seeds {SuiteContext.SeedRange(seeds)} (each seed: the same dense-layer weights with and without LN, and the same data order). Gradient norms per dense layer at the first step (initialization) and at the last.",
            Rule = $"with each run's spread of per-layer gradient norms at initialization, log10(max/min) over the dense layers: the unnormalized net's spread − LN's, per seed, ≥ {VerdictRules.GradientSpreadReduction} decades (a factor of about 3) for each activation; {VerdictRules.IntervalRule}. The claim is supported when both activations are, not supported when either is not.",
            Findings = VerdictRules.GradientFlow(seeds, spreads),
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("gradient norms of the first and last dense layer at initialization, and the spread over depth in decades", ["activation", "norm", "first layer", "last layer", "spread at init", "spread after"], rows)],
            Figures = figures,
        };
    }

    private static double Spread(double[] norms)
    {
        double max = norms.Max(), min = norms.Min();
        return min > 0 ? Math.Log10(max / min) : double.PositiveInfinity;
    }
}
