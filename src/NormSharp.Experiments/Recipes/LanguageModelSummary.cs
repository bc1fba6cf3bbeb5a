using System.Text.Json;
using System.Text.Json.Serialization;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// What a language-modelling run reports in <c>summary.json</c>, however it ends, with its <see cref="Status"/>
/// (finished, diverged, interrupted or failed, as <see cref="RunSummary"/>'s); non-finite numbers are written as null.
/// </summary>
public sealed record LanguageModelSummary
{
    /// <summary>How the run ended: finished, diverged, interrupted or failed.</summary>
    [JsonPropertyName("status")] public string Status { get; init; } = RunSummary.Finished;

    /// <summary>The corpus: a dataset name or a file name.</summary>
    [JsonPropertyName("dataset")] public required string Dataset { get; init; }

    /// <summary>Model description, e.g. transformer-4x128-h4-pre-layer.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>The blocks' normalization (Transformer), or the cell (recurrent models).</summary>
    [JsonPropertyName("norm")] public required string Norm { get; init; }

    /// <summary>pre or post (Transformer), or null.</summary>
    [JsonPropertyName("norm_position")] public string? NormPosition { get; init; }

    /// <summary>Characters per training window.</summary>
    [JsonPropertyName("context")] public required int Context { get; init; }

    /// <summary>Windows per step.</summary>
    [JsonPropertyName("batch_size")] public required int BatchSize { get; init; }

    /// <summary>Warm-up steps.</summary>
    [JsonPropertyName("warmup_steps")] public required long WarmupSteps { get; init; }

    /// <summary>Base learning rate.</summary>
    [JsonPropertyName("lr")] public required double LearningRate { get; init; }

    /// <summary>Optimizer steps taken.</summary>
    [JsonPropertyName("steps")] public required long Steps { get; init; }

    /// <summary>Size of the vocabulary, the unknown id included.</summary>
    [JsonPropertyName("vocabulary_size")] public required int VocabularySize { get; init; }

    /// <summary>Mean training loss of the last 100 steps trained (in this process; the last epoch's when none), in bits per character.</summary>
    [JsonPropertyName("final_train_bpc")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double FinalTrainBitsPerCharacter { get; init; }

    /// <summary>Bits per character on the whole validation text.</summary>
    [JsonPropertyName("validation_bpc")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double ValidationBitsPerCharacter { get; init; }

    /// <summary>Characters the validation figure was measured on.</summary>
    [JsonPropertyName("validation_characters")] public required long ValidationCharacters { get; init; }

    /// <summary>Training characters (tokens) per second of training (evaluation excluded).</summary>
    [JsonPropertyName("tokens_per_second")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double TokensPerSecond { get; init; }

    /// <summary>Wall-clock minutes the run took in this process, evaluations included.</summary>
    [JsonPropertyName("minutes")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double Minutes { get; init; }

    /// <summary>True when the run hit a non-finite value or an exploding loss.</summary>
    [JsonIgnore] public bool Diverged => Status == RunSummary.DivergedStatus;

    /// <summary>Why the run stopped before its end, or null.</summary>
    [JsonPropertyName("stop_reason")] public string? StopReason { get; init; }

    /// <summary>Seed of the run.</summary>
    [JsonPropertyName("seed")] public required ulong Seed { get; init; }

    /// <summary>Kernel threads.</summary>
    [JsonPropertyName("threads")] public required int Threads { get; init; }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The summary as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Indented);

    /// <summary>Writes the summary to <paramref name="path"/> whole or not at all.</summary>
    public void WriteAtomically(string path) => NormSharp.IO.AtomicFile.Write(path, s => JsonSerializer.Serialize(s, this, Indented));

    /// <summary>Reads a summary written by <see cref="WriteAtomically"/>.</summary>
    public static LanguageModelSummary Read(string path) =>
        JsonSerializer.Deserialize<LanguageModelSummary>(File.ReadAllText(path)) ?? throw new Errors.CorruptFileException(path, "the summary is null.");
}
