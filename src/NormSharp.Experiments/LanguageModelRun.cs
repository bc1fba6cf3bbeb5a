using NormSharp.Data.Text;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments;

/// <summary>A finished language-modelling run as an experiment sees it: its summary and its curves (read as any run's).</summary>
public sealed record LanguageModelRun
{
    /// <summary>The run's summary.</summary>
    public required LanguageModelSummary Summary { get; init; }

    /// <summary>The run's curves: step losses (nats per character), held-out losses at <see cref="TrainingConfig.EvalEvery"/>, gradient norms.</summary>
    public required RunResult Curves { get; init; }

    /// <summary>The run's identifier inside the experiment folder.</summary>
    public string Id => Curves.Id;

    /// <summary>The configuration it ran with.</summary>
    public TrainingConfig Config => Curves.Config;

    /// <summary>Validation bits per character at each held-out evaluation, with the steps they were made at.</summary>
    public (double[] Steps, double[] BitsPerCharacter) ValidationCurve =>
        (Curves.EvalSteps, Curves.EvalLoss.Select(LanguageModelMetrics.BitsPerCharacter).ToArray());

    /// <summary>Reads a finished run folder.</summary>
    public static LanguageModelRun Load(string id, TrainingConfig config, LanguageModelSummary summary, string metricsPath) => new()
    {
        Summary = summary,
        Curves = RunResult.Load(id, config, AsRunSummary(summary, config), metricsPath),
    };

    /// <summary>The language-model summary in the terms every run shares (held-out loss in nats; no accuracy).</summary>
    private static RunSummary AsRunSummary(LanguageModelSummary s, TrainingConfig c) => new()
    {
        Dataset = s.Dataset,
        Norm = s.Norm,
        Model = s.Model,
        BatchSize = s.BatchSize,
        Epochs = 0,
        Steps = s.Steps,
        FinalTrainLoss = s.FinalTrainBitsPerCharacter * Math.Log(2),
        TestLoss = s.ValidationBitsPerCharacter * Math.Log(2),
        TestAccuracy = double.NaN,
        SamplesPerSecond = s.TokensPerSecond,
        Diverged = s.Diverged,
        StopReason = s.StopReason,
        Seed = s.Seed,
        Threads = c.Threads,
    };
}
