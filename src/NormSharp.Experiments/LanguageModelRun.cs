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

    /// <summary>Reads a run folder written by <see cref="CharLmRun"/>.</summary>
    public static LanguageModelRun Load(string id, TrainingConfig config, LanguageModelSummary summary, string metricsPath) => new()
    {
        Summary = summary,
        // A language model has no accuracy: a finished run is unusable only when its bits are not numbers.
        Curves = RunResult.Load(id, config, AsRunSummary(summary, config), metricsPath) with { Failure = BadNumbers(summary) },
    };

    /// <summary>A run that ended with an error (<paramref name="reason"/>), with the curves it logged before, if any.</summary>
    public static LanguageModelRun Failed(string id, TrainingConfig config, string reason, string metricsPath)
    {
        var curves = RunResult.Failed(id, config, reason, metricsPath);
        var summary = new LanguageModelSummary
        {
            Status = RunSummary.Failed, Dataset = config.Dataset, Model = Spelling.Of(config.Model), Norm = Spelling.Of(config.Norm), Context = config.Context,
            BatchSize = config.BatchSize, WarmupSteps = config.WarmupSteps, LearningRate = config.LearningRate, Steps = curves.StepLoss.Length, VocabularySize = 0,
            FinalTrainBitsPerCharacter = double.NaN, ValidationBitsPerCharacter = double.NaN, ValidationCharacters = 0, TokensPerSecond = 0, Minutes = 0,
            StopReason = reason, Seed = config.Seed, Threads = config.Threads,
        };
        return new LanguageModelRun { Summary = summary, Curves = curves };
    }

    private static string? BadNumbers(LanguageModelSummary s)
    {
        if (s.Status == RunSummary.Failed) return s.StopReason ?? "failed";
        if (s.Status != RunSummary.Finished) return null;
        if (!double.IsFinite(s.ValidationBitsPerCharacter)) return $"bad numbers: the validation bits per character are {s.ValidationBitsPerCharacter} although the run was not stopped as diverged";
        return null;
    }

    /// <summary>The language-model summary in the terms every run shares (held-out loss in nats; no accuracy).</summary>
    private static RunSummary AsRunSummary(LanguageModelSummary s, TrainingConfig c) => new()
    {
        Status = s.Status,
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
