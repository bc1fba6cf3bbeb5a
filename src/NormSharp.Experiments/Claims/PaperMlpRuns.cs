using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// The paper's permutation-invariant MLP runs that claims A and L share (Fig. 6's setting): every normalization at
/// batch 128 and batch 4, Adam at the same learning rate (1e-3) for every arm, with held-out checks through each
/// epoch for the learning curves. A seed gives every arm the same data order and, but for the normalization
/// layers, the same initial weights.
/// </summary>
internal static class PaperMlpRuns
{
    /// <summary>The arms: no normalization, batch, layer and weight normalization.</summary>
    public static readonly string[] Norms = ["none", "batch", "layer", "weight"];

    /// <summary>The batch sizes of Fig. 6.</summary>
    public static readonly int[] Batches = [128, 4];

    /// <summary>How a report names an arm.</summary>
    public static string Label(string norm) => norm switch { "none" => "none", "batch" => "BN", "layer" => "LN", "weight" => "WN", _ => norm };

    /// <summary>The run of <paramref name="norm"/> at <paramref name="batchSize"/> for <paramref name="seed"/>.</summary>
    public static RunResult Run(SuiteContext ctx, string norm, int batchSize, ulong seed) => ctx.Runner.Run($"A-{norm}-b{batchSize}-s{seed}", Config(ctx, norm, batchSize, seed, ctx.Profile.TrainImages));

    /// <summary>The configuration of such a run on <paramref name="images"/> training images (at most).</summary>
    public static TrainingConfig Config(SuiteContext ctx, string norm, int batchSize, ulong seed, int images)
    {
        int count = ctx.TrainCount(images);
        return ctx.Mlp(norm, batchSize, seed) with
        {
            TrainLimit = count,
            EvalEvery = SuiteContext.EvaluateEvery(count, batchSize, ctx.Profile.EvaluationsPerEpoch),
            EvalLimit = ctx.Profile.EvalLimit,
        };
    }

    /// <summary>Every arm's runs over <paramref name="seeds"/>, by (normalization, batch size).</summary>
    public static Dictionary<(string Norm, int Batch), List<RunResult>> All(SuiteContext ctx, IReadOnlyList<ulong> seeds, IEnumerable<string>? norms = null)
    {
        var runs = new Dictionary<(string, int), List<RunResult>>();
        foreach (var norm in norms ?? Norms.Where(ctx.Profile.MlpNorms.Contains))
            foreach (int b in Batches)
                runs[(norm, b)] = seeds.Select(s => Run(ctx, norm, b, s)).ToList();
        return runs;
    }

    /// <summary>A run's test error on the whole test set; a diverged run counts as error 1, the error a user of it would see.</summary>
    public static double TestError(RunResult r) => r.Summary.Diverged ? 1.0 : 1 - r.Summary.TestAccuracy;

    /// <summary>The run's training NLL averaged over all its steps (the area under its learning curve, per step).</summary>
    public static double MeanTrainingLoss(RunResult r) => r.Summary.Diverged ? double.PositiveInfinity : Stats.Mean(r.StepLoss);

    /// <summary>Steps per epoch of a run (for curves drawn against epochs).</summary>
    public static double StepsPerEpoch(RunResult r) => r.Summary.Epochs > 0 && r.StepLoss.Length > 0 ? (double)r.StepLoss.Length / r.Summary.Epochs : double.NaN;

    /// <summary>The setup text shared by A and L.</summary>
    public static string Setup(SuiteContext ctx, IReadOnlyList<ulong> seeds, IEnumerable<string> norms) =>
        $"MLP 784-{string.Join("-", ctx.Profile.Hidden)}-10 (ReLU; the normalization on the hidden layers only, not on the output layer) on {ctx.DataText(ctx.Profile.TrainImages)}, " +
        $"{string.Join(" vs ", norms.Select(Label))}, batch 128 and batch 4, Adam at lr 1e-3 for every arm (a matched rate), {ctx.Profile.Epochs} epochs, seeds {SuiteContext.SeedRange(seeds)} " +
        $"(each seed: the same data order and the same dense-layer initialization in every arm). Test error on the whole test set with BN's running statistics; " +
        $"learning curves from {ctx.Profile.EvaluationsPerEpoch} held-out checks per epoch on the first {ctx.Profile.EvalLimit:N0} test images.";

    /// <summary>The mean ± sd band over seeds of a per-run curve drawn against epochs.</summary>
    public static Series Curve(string label, IReadOnlyList<RunResult> runs, Func<RunResult, (double[] X, double[] Y)> pick)
    {
        var curves = runs.Select(pick).ToList();
        var (m, s) = Stats.Band(curves.Select(c => c.Y).ToList());
        var x = curves.Count == 0 ? [] : curves[0].X.Take(m.Length).ToArray();
        return new Series(label, x, m, s);
    }

    /// <summary>The smoothed (EMA 0.02) training NLL against epochs, thinned to about 400 points.</summary>
    public static (double[] X, double[] Y) TrainingCurve(RunResult r)
    {
        var smooth = Stats.Smooth(r.StepLoss, 0.02);
        double perEpoch = StepsPerEpoch(r);
        int stride = Math.Max(1, smooth.Length / 400);
        var idx = Enumerable.Range(0, smooth.Length).Where(i => i % stride == stride - 1 || i == smooth.Length - 1).ToArray();
        return (idx.Select(i => (i + 1) / perEpoch).ToArray(), idx.Select(i => smooth[i]).ToArray());
    }

    /// <summary>The held-out error at each check, against epochs.</summary>
    public static (double[] X, double[] Y) ErrorCurve(RunResult r)
    {
        double perEpoch = StepsPerEpoch(r);
        return (r.EvalSteps.Select(s => s / perEpoch).ToArray(), r.EvalError);
    }
}
