using System.Text.Json.Serialization;

namespace NormSharp.Training;

/// <summary>What a finished (or stopped) run reports in <c>summary.json</c>.</summary>
public sealed record RunSummary
{
    /// <summary>Dataset name.</summary>
    [JsonPropertyName("dataset")] public required string Dataset { get; init; }

    /// <summary>Normalization of the hidden layers.</summary>
    [JsonPropertyName("norm")] public required string Norm { get; init; }

    /// <summary>Model description, e.g. mlp-784-1000-1000-10.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>Samples per step.</summary>
    [JsonPropertyName("batch_size")] public required int BatchSize { get; init; }

    /// <summary>Epochs completed.</summary>
    [JsonPropertyName("epochs")] public required int Epochs { get; init; }

    /// <summary>Optimizer steps taken.</summary>
    [JsonPropertyName("steps")] public required long Steps { get; init; }

    /// <summary>Mean training loss over the last epoch.</summary>
    [JsonPropertyName("final_train_loss")] public required double FinalTrainLoss { get; init; }

    /// <summary>Mean cross-entropy on the test set.</summary>
    [JsonPropertyName("test_loss")] public required double TestLoss { get; init; }

    /// <summary>Fraction of the test set classified correctly.</summary>
    [JsonPropertyName("test_accuracy")] public required double TestAccuracy { get; init; }

    /// <summary>Training samples processed per second of training (evaluation excluded).</summary>
    [JsonPropertyName("samples_per_second")] public required double SamplesPerSecond { get; init; }

    /// <summary>True when the run hit a non-finite value or an exploding loss.</summary>
    [JsonPropertyName("diverged")] public required bool Diverged { get; init; }

    /// <summary>Why the run diverged or stopped early, or null.</summary>
    [JsonPropertyName("stop_reason")] public string? StopReason { get; init; }

    /// <summary>Seed of the run.</summary>
    [JsonPropertyName("seed")] public required ulong Seed { get; init; }

    /// <summary>Kernel threads.</summary>
    [JsonPropertyName("threads")] public required int Threads { get; init; }
}
