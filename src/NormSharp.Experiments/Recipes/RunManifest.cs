using System.Text.Json;
using System.Text.Json.Serialization;
using NormSharp.Errors;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// <c>run.json</c>, written into a run folder when a run starts (before any step): the run's identity and
/// configuration. It is how a folder knows whose it is: a checkpoint of another run is refused, a run that
/// never reached its first checkpoint can be started again or resumed from step 0, and <c>--resume</c>
/// finds the settings (with absolute paths) even when no checkpoint exists.
/// </summary>
public sealed record RunManifest
{
    /// <summary>The manifest's file name inside a run folder.</summary>
    public const string FileName = "run.json";

    /// <summary>The format tag.</summary>
    public const string CurrentFormat = "normsharp-run-1";

    /// <summary>Format tag.</summary>
    [JsonPropertyName("format")] public string Format { get; init; } = CurrentFormat;

    /// <summary>The run's identity (<see cref="RunIdentity"/>).</summary>
    [JsonPropertyName("identity")] public required string Identity { get; init; }

    /// <summary>The run's configuration.</summary>
    [JsonPropertyName("config")] public required TrainingConfig Config { get; init; }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The manifest of the run folder <paramref name="directory"/>, or null when it has none.</summary>
    public static RunManifest? Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        RunManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(path, $"not a valid run manifest: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != CurrentFormat || manifest.Config is null || string.IsNullOrEmpty(manifest.Identity))
            throw new CorruptFileException(path, $"not a run manifest of format '{CurrentFormat}'.");
        return manifest;
    }

    /// <summary>Writes the manifest into <paramref name="directory"/>, atomically.</summary>
    public void Write(string directory) =>
        NormSharp.IO.AtomicFile.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Indented));
}
