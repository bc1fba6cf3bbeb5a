using NormSharp.Layers;
using NormSharp.Tensors;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// D: in a deep MLP, layer normalization keeps the per-layer gradient norms in a narrow band at initialization, with
/// PyTorch's default initialization and with He initialization of the dense layers (a variance-preserving start that
/// by itself keeps ReLU gradients from vanishing).
/// </summary>
public static class GradientFlowClaim
{
    /// <summary>The claim's entry in the suite.</summary>
    public static ClaimDefinition Definition { get; } = new("D", ClaimSource.Article, "LN narrows the spread of gradient norms through a 24-layer MLP, with default and He initialization", Run);

    private static readonly (InitScheme Scheme, string Name, string Label)[] Inits =
        [(InitScheme.PyTorchDefault, "default", "PyTorch default init"), (InitScheme.KaimingNormal, "he", "He init")];

    /// <summary>Trains the deep MLP briefly for tanh and ReLU, none vs LN, under both initializations, and compares per-layer gradient norms.</summary>
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
            foreach (var (scheme, initName, initLabel) in Inits)
            {
                var spreadByNorm = new Dictionary<string, double[]>();
                var series = new List<Series>();
                foreach (var norm in norms)
                {
                    TrainingConfig Config(ulong s) => ctx.Mlp(norm, 128, s) with
                    {
                        Hidden = Enumerable.Repeat(width, depth - 1).ToArray(),
                        Activation = Spelling.Parse<NormSharp.Autograd.F.Activation>(act, "activation"),
                        Init = scheme,
                        Epochs = 1,
                        TrainLimit = ctx.TrainCount(ctx.Profile.DeepImages),
                        Standardize = true,
                    };
                    var runs = seeds.Select(s => ctx.Runner.Run($"D-{act}-{initName}-{norm}-s{s}", Config(s))).ToList();
                    // The dense layers' parameter groups, in depth order.
                    var probe = ModelFactory.BuildModel(Config(1), 28, 28, 10, new Rng(1));
                    var linears = probe.NamedModules().Where(m => m.Module is Linear).Select(m => m.Name).ToList();
                    double[] Layerwise(RunResult r, bool first) => linears.Select(n => r.GroupGradNorms.TryGetValue(n, out var g) ? (first ? g.First : g.Last) : double.NaN).ToArray();
                    var (initMean, initSd) = Stats.Band(runs.Select(r => Layerwise(r, true)).ToList());
                    var (lastMean, lastSd) = Stats.Band(runs.Select(r => Layerwise(r, false)).ToList());
                    var perSeed = runs.Select(r => Spread(Layerwise(r, true))).ToArray();
                    double spread = Stats.Mean(perSeed);
                    double spreadAfter = Stats.Mean(runs.Select(r => Spread(Layerwise(r, false))));
                    spreadByNorm[norm] = perSeed;
                    string key = $"{act}.{initName}.{norm}";
                    evidence[$"init_spread_decades.{key}"] = spread;
                    evidence[$"trained_spread_decades.{key}"] = spreadAfter;
                    evidence[$"first_layer_grad.{key}"] = initMean[0];
                    evidence[$"last_layer_grad.{key}"] = initMean[^1];
                    var x = Enumerable.Range(1, linears.Count).Select(i => (double)i).ToArray();
                    series.Add(new Series($"{PaperMlpRuns.Label(norm)}, first step", x, initMean, initSd));
                    series.Add(new Series($"{PaperMlpRuns.Label(norm)}, after {runs[0].StepLoss.Length} steps", x, lastMean, lastSd));
                    rows.Add([act, initLabel, PaperMlpRuns.Label(norm), SuiteContext.Num(initMean[0]), SuiteContext.Num(initMean[^1]), SuiteContext.Num(spread, "F2"), SuiteContext.Num(spreadAfter, "F2")]);
                }
                spreads.Add(($"{act}, {initLabel}", spreadByNorm["none"], spreadByNorm["layer"]));
                figures.Add(new Figure($"D-{act}-{initName}", $"D: gradient norm per dense layer, {depth}-layer {act} MLP, {initLabel} (mean ± sd over seeds)", "dense layer (input side = 1)", "‖∂L/∂W‖", series, LogY: true));
            }
        return new ClaimResult
        {
            Id = "D",
            Title = $"In a {depth}-layer MLP, LN narrows the spread of per-layer gradient norms at the first step by at least {VerdictRules.GradientSpreadReduction} decades, for tanh and ReLU, with default and with He initialization",
            Setup = $"MLP with {depth} dense layers of width {width} (tanh and ReLU), none vs LN, dense layers initialized with PyTorch's default U(±1/√fan_in) or with He's N(0, 2/fan_in) (for tanh, He's variance is twice the variance-preserving one), on {ctx.DataText(ctx.Profile.DeepImages)}, batch 128, Adam lr 1e-3, one epoch, seeds {SuiteContext.SeedRange(seeds)} (each seed: the same dense-layer weights with and without LN, and the same data order). Gradient norms per dense layer at the first step (initialization) and at the last.",
            Rule = $"with each run's spread of per-layer gradient norms at the first step, log10(max/min) over the dense layers: the unnormalized net's spread − LN's, per seed, ≥ {VerdictRules.GradientSpreadReduction} decades (a factor of about 3), for each activation and each initialization; {VerdictRules.IntervalRule}. Supported when all four are, not supported when any is not.",
            Findings = VerdictRules.GradientFlow(seeds, spreads),
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("gradient norms of the first and last dense layer at the first step (mean over seeds), and the spread over depth in decades", ["activation", "init", "norm", "first layer", "last layer", "spread at first step", "spread at last step"], rows)],
            Figures = figures,
        };
    }

    private static double Spread(double[] norms)
    {
        double max = norms.Max(), min = norms.Min();
        return min > 0 ? Math.Log10(max / min) : double.PositiveInfinity;
    }
}
