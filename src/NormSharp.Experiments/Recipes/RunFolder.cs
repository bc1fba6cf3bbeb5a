using System.Text.Json;
using NormSharp.Errors;
using NormSharp.IO;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// What every recipe run (<see cref="RecipeRun"/>, <see cref="CharLmRun"/>) does with its folder: refuses another
/// run's work, starts again a run that stopped before its first checkpoint, writes the manifest (<c>run.json</c>),
/// removes temporary files an earlier crash left, and finds a folder's configuration from its manifest or its
/// newest readable checkpoint.
/// </summary>
internal static class RunFolder
{
    /// <summary>Files whose presence, without a manifest, means the folder holds another run's work.</summary>
    public static readonly string[] RunFiles = ["metrics.csv", "summary.json", "model.safetensors"];

    /// <summary>Refuses an empty path or a file where a run folder should be.</summary>
    public static void CheckPath(string directory)
    {
        if (directory.Trim().Length == 0) throw new InvalidValueException(nameof(directory), "the run folder's path is empty");
        if (File.Exists(directory)) throw new InvalidValueException(nameof(directory), $"{directory} is a file, not a folder; a run needs a folder of its own");
    }

    /// <summary>
    /// A new run may start in an empty folder, or in one holding this very run stopped before its first checkpoint
    /// (started again from scratch); anything else is someone's work and is refused untouched.
    /// </summary>
    public static void PrepareNew(string dir, string identity, TrainingConfig config, Action<string>? log)
    {
        var checkpoints = CheckpointManager.List(dir);
        if (checkpoints.Count > 0)
            throw new RunFolderOccupiedException(dir, $"a training run (its newest checkpoint is of step {checkpoints[^1].Step})", canResume: true);
        RunManifest? manifest;
        try
        {
            manifest = RunManifest.Read(dir);
        }
        catch (CorruptFileException e)
        {
            throw new RunFolderOccupiedException(dir, $"an unreadable run manifest ({e.Message})", canResume: false);
        }
        if (manifest is not null && manifest.Identity != identity)
            throw new RunFolderOccupiedException(dir, "a run of another configuration (or other data) that has made no checkpoint yet", canResume: true);
        if (manifest is null && RunFiles.Any(f => File.Exists(Path.Combine(dir, f))))
            throw new RunFolderOccupiedException(dir, $"the files of another run ({string.Join(", ", RunFiles.Where(f => File.Exists(Path.Combine(dir, f))))})", canResume: false);
        if (manifest is not null) log?.Invoke($"{dir} holds this run, stopped before its first checkpoint: starting it again from step 0");
        RemoveLeftovers(dir, log);
        foreach (var stale in new[] { "summary.json", "model.safetensors" }) File.Delete(Path.Combine(dir, stale));
        new RunManifest { Identity = identity, Config = config }.Write(dir);
    }

    /// <summary>A resumed run's folder: the data must be the run's own; the manifest is brought up to date.</summary>
    public static void PrepareResumed(string dir, RunManifest? manifest, string identity, TrainingConfig config, Action<string>? log)
    {
        if (manifest is not null && manifest.Identity.Length > 0 && manifest.Identity != identity)
            throw new InvalidValueException("data", $"{dir} holds run {manifest.Identity[..12]}…, but its configuration with the data given now is {identity[..12]}… (the data differ from the run's)");
        RemoveLeftovers(dir, log);
        if (manifest is null || manifest.Identity != identity || JsonSerializer.Serialize(manifest.Config) != JsonSerializer.Serialize(config))
            new RunManifest { Identity = identity, Config = config }.Write(dir);
    }

    /// <summary>Deletes the temporary files an interrupted atomic write left behind.</summary>
    public static void RemoveLeftovers(string dir, Action<string>? log)
    {
        var removed = AtomicFile.RemoveOrphans(dir);
        if (removed.Count > 0) log?.Invoke($"removed {removed.Count} temporary file{(removed.Count == 1 ? "" : "s")} left by an earlier crash: {string.Join(", ", removed)}");
    }

    /// <summary>The folder's manifest, or one rebuilt from its newest readable checkpoint; a folder with neither holds no run.</summary>
    public static RunManifest ReadManifest(string directory) => RunManifest.Read(directory) ?? ManifestFromCheckpoints(directory);

    private static RunManifest ManifestFromCheckpoints(string directory)
    {
        if (File.Exists(directory)) throw new InvalidValueException(nameof(directory), $"{directory} is a file, not a run folder");
        var problems = new List<string>();
        foreach (var c in CheckpointManager.List(directory).Reverse())
        {
            try
            {
                var cp = Checkpoint.Load(c.Path);
                var config = ConfigOf(cp, c.Path);
                return new RunManifest { Identity = cp.Metadata.TryGetValue(Trainer.RunIdentityKey, out var id) ? id : "", Config = config };
            }
            catch (CorruptFileException e)
            {
                problems.Add(e.Message);
            }
        }
        throw new CorruptFileException(directory, problems.Count == 0
            ? $"no training run there: no {RunManifest.FileName} and no checkpoint"
            : $"no readable checkpoint and no {RunManifest.FileName}: {string.Join("; ", problems)}");
    }

    /// <summary>The configuration a checkpoint carries.</summary>
    public static TrainingConfig ConfigOf(Checkpoint cp, string path)
    {
        try
        {
            return cp.RequireJson<TrainingConfig>("config", path);
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(path, $"metadata 'config' is not a valid configuration: {e.Message}", e);
        }
    }
}
