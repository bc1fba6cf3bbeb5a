using System.Text.Json;
using System.Text.Json.Serialization;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// What a finished or stopped run reports in <c>summary.json</c>: written for every run that ends, however it
/// ends, with its <see cref="Status"/> and <see cref="StopReason"/>; numbers that are not finite (a diverged
/// run's loss, a test loss never measured) are written as null.
/// </summary>
public sealed record RunSummary
{
    /// <summary><see cref="Status"/> of a run that ran to its end (or was ended by a rule such as early stopping).</summary>
    public const string Finished = "finished";

    /// <summary><see cref="Status"/> of a run stopped by a numerical fault or an exploding loss.</summary>
    public const string DivergedStatus = "diverged";

    /// <summary><see cref="Status"/> of a run stopped by a signal or a cancellation; it resumes from its checkpoint.</summary>
    public const string Interrupted = "interrupted";

    /// <summary><see cref="Status"/> of a run that ended with an error (a full disk, a failed allocation).</summary>
    public const string Failed = "failed";

    /// <summary>How the run ended: finished, diverged, interrupted or failed.</summary>
    [JsonPropertyName("status")] public string Status { get; init; } = Finished;

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
    [JsonPropertyName("final_train_loss")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double FinalTrainLoss { get; init; }

    /// <summary>Mean cross-entropy on the test set.</summary>
    [JsonPropertyName("test_loss")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double TestLoss { get; init; }

    /// <summary>Fraction of the test set classified correctly.</summary>
    [JsonPropertyName("test_accuracy")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double TestAccuracy { get; init; }

    /// <summary>Training samples processed per second of training (evaluation excluded).</summary>
    [JsonPropertyName("samples_per_second")] [JsonConverter(typeof(FiniteOrNullConverter))] public required double SamplesPerSecond { get; init; }

    /// <summary>True when the run hit a non-finite value or an exploding loss (<see cref="Status"/> is then <c>diverged</c>).</summary>
    [JsonPropertyName("diverged")] public required bool Diverged { get; init; }

    /// <summary>Why the run diverged or stopped early, or null.</summary>
    [JsonPropertyName("stop_reason")] public string? StopReason { get; init; }

    /// <summary>Seed of the run.</summary>
    [JsonPropertyName("seed")] public required ulong Seed { get; init; }

    /// <summary>Kernel threads.</summary>
    [JsonPropertyName("threads")] public required int Threads { get; init; }

    /// <summary>
    /// Subnormal values in the parameters, gradients and optimizer state at the end (<see cref="NormSharp.Training.SubnormalCensus"/>),
    /// the usual cause of steps that slow down late in a run; null when not counted (a failed run, an older summary).
    /// </summary>
    [JsonPropertyName("subnormal_values")] public long? SubnormalValues { get; init; }

    // Reasons are prose: keep their signs and quotes readable (the file is not embedded in HTML).
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The summary as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Indented);

    /// <summary>Writes the summary to <paramref name="path"/> through a temporary file, so a reader never sees half of it.</summary>
    public void WriteAtomically(string path) => NormSharp.IO.AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads a summary written by <see cref="WriteAtomically"/>.</summary>
    public static RunSummary Read(string path) =>
        JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path)) ?? throw new Errors.CorruptFileException(path, "the summary is null.");
}

/// <summary>JSON has no NaN or infinity: such numbers are written as null and read back as NaN.</summary>
public sealed class FiniteOrNullConverter : JsonConverter<double>
{
    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteNullValue();
    }
}
