using NormSharp.Experiments.Recipes;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// The training configurations of the language-modelling claims (H, I, J), built from the profile so that every
/// arm of a seed shares its data order and initialization scheme and differs only in what the claim varies.
/// </summary>
internal static class LanguageModelArms
{
    /// <summary>A Transformer language model of the profile's size: Pre-LN or Post-LN, the given norm and warm-up, AdamW at the profile's rate.</summary>
    public static TrainingConfig Transformer(SuiteContext ctx, ulong seed, NormPosition position, NormKind norm, int warmupSteps)
    {
        var p = ctx.Profile.LanguageModel;
        return Common(ctx, seed) with
        {
            Model = ModelKind.Transformer,
            DModel = p.DModel,
            Layers = p.Layers,
            Heads = p.Heads,
            FeedForward = p.FeedForward,
            NormPosition = position,
            Norm = norm,
            Activation = NormSharp.Autograd.F.Activation.Gelu,
            LearningRate = p.TransformerRate,
            WarmupSteps = warmupSteps,
        };
    }

    /// <summary>A recurrent language model of the profile's size with <paramref name="cell"/>.</summary>
    public static TrainingConfig Recurrent(SuiteContext ctx, ulong seed, CellKind cell)
    {
        var p = ctx.Profile.LanguageModel;
        return Common(ctx, seed) with
        {
            Model = ModelKind.Rnn,
            Cell = cell,
            Hidden = [p.RecurrentHidden],
            DModel = p.RecurrentEmbedding,
            Layers = 1,
            LearningRate = p.RecurrentRate,
        };
    }

    private static TrainingConfig Common(SuiteContext ctx, ulong seed)
    {
        var p = ctx.Profile.LanguageModel;
        return new TrainingConfig
        {
            Dataset = p.Corpus,
            Task = SequenceTask.CharLm,
            Context = p.Context,
            BatchSize = p.BatchSize,
            Steps = p.Steps,
            Optimizer = OptimizerKind.AdamW,
            EvalEvery = p.EvalEvery,
            EvalWindows = p.EvalWindows,
            Seed = seed,
            Threads = ctx.Threads,
        };
    }

    /// <summary>
    /// A run's final validation bits per character. A diverged run counts as predicting no better than uniform
    /// guessing over its vocabulary (log2 of its size), so it weighs against its arm rather than leaving the seed out;
    /// a failed run gives NaN (missing evidence, which makes its claim inconclusive).
    /// </summary>
    public static double FinalBits(LanguageModelRun run) =>
        run.Summary.Diverged ? Math.Log2(run.Summary.VocabularySize) : run.Summary.ValidationBitsPerCharacter;

    /// <summary>
    /// The mean validation bits per character over a run's held-out evaluations (the area under its validation
    /// curve: speed and level in one number); a diverged run counts as uniform guessing throughout.
    /// </summary>
    public static double MeanBits(LanguageModelRun run)
    {
        var (_, bits) = run.ValidationCurve;
        if (run.Summary.Diverged) return Math.Log2(run.Summary.VocabularySize);
        return bits.Length == 0 ? double.NaN : Stats.Mean(bits);
    }

    /// <summary>The validation curves of a set of seeds, as a report series (mean ± sd over seeds).</summary>
    public static Series Curve(string label, IReadOnlyList<LanguageModelRun> runs)
    {
        var curves = runs.Select(r => r.ValidationCurve.BitsPerCharacter).ToList();
        int n = curves.Min(c => c.Length);
        var (mean, sd) = Stats.Band(curves.Select(c => c[..n]).ToList());
        return new Series(label, runs[0].ValidationCurve.Steps[..n], mean, sd);
    }
}
