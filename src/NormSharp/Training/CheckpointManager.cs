using System.Globalization;
using System.Text.Json;
using NormSharp.Errors;
using NormSharp.IO.Safetensors;
using NormSharp.Kernels;

namespace NormSharp.Training;

/// <summary>
/// Writes the trainer's complete state into a folder as <c>checkpoint-STEP.safetensors</c>, atomically: every
/// <see cref="EverySteps"/> steps, at the end of every epoch, and when a fit is interrupted. It keeps the newest
/// <see cref="Keep"/> checkpoints, and never deletes the newest good one (written from finite weights while the
/// smoothed loss was at most <see cref="GoodLossRatio"/>× the best so far, as the trainer's
/// <see cref="DivergenceDetector"/> measures it), which is where <see cref="NanGuard"/> rolls back to. A state
/// holding non-finite numbers is never written, and a diverged run is not checkpointed. <see cref="Restore"/>
/// continues from the newest checkpoint, falling back to the one before (with a warning) when the newest is
/// damaged. Add it after the parts whose state it saves (metrics, the detector), so their state of the step is
/// in the checkpoint. One process at a time may write into a folder (see <see cref="RunFolderLock"/>).
/// </summary>
public sealed class CheckpointManager : ITrainerCallback
{
    /// <summary>The metadata key of the health record (<c>{"good":…,"smoothed_loss":…,"best_smoothed_loss":…}</c>).</summary>
    public const string HealthKey = "checkpoint_health";

    private const string Prefix = "checkpoint-", Suffix = ".safetensors";

    private Trainer? _trainer;

    /// <summary>Checkpoints into <paramref name="directory"/> every <paramref name="everySteps"/> steps (0: only at epoch ends and interruptions).</summary>
    public CheckpointManager(string directory, long everySteps = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (everySteps < 0) throw new InvalidValueException(nameof(everySteps), $"CheckpointManager: everySteps must be >= 0, got {everySteps}.");
        Directory = directory;
        EverySteps = everySteps;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>Steps between checkpoints (0: epoch ends only).</summary>
    public long EverySteps { get; }

    /// <summary>How many of the newest checkpoints are kept (the newest good one is kept besides).</summary>
    public int Keep
    {
        get;
        init => field = value >= 1 ? value : throw new InvalidValueException(nameof(Keep), $"CheckpointManager: Keep must be at least 1, got {value}.");
    } = 3;

    /// <summary>A checkpoint is good when the smoothed loss is at most this many times the best smoothed loss so far.</summary>
    public double GoodLossRatio
    {
        get;
        init => field = value >= 1 && double.IsFinite(value) ? value : throw new InvalidValueException(nameof(GoodLossRatio), $"CheckpointManager: GoodLossRatio must be a finite number of at least 1, got {value}.");
    } = 2.0;

    /// <summary>The file name of the checkpoint of <paramref name="step"/>.</summary>
    public static string FileNameOf(long step) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{step:D8}{Suffix}");

    /// <summary>The checkpoints in <paramref name="directory"/>, oldest first (none when the folder does not exist).</summary>
    public static IReadOnlyList<CheckpointFile> List(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory)) return [];
        var found = new List<CheckpointFile>();
        foreach (string path in System.IO.Directory.EnumerateFiles(directory, Prefix + "*" + Suffix))
        {
            string name = Path.GetFileName(path);
            if (!name.StartsWith(Prefix, StringComparison.Ordinal) || !name.EndsWith(Suffix, StringComparison.Ordinal) || name.Length <= Prefix.Length + Suffix.Length) continue;
            if (!long.TryParse(name.AsSpan(Prefix.Length, name.Length - Prefix.Length - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long step)) continue;
            found.Add(new CheckpointFile(path, step, ReadGood(path)));
        }
        found.Sort((a, b) => a.Step.CompareTo(b.Step));
        return found;
    }

    /// <summary>The newest checkpoint in <paramref name="directory"/>, or null.</summary>
    public static CheckpointFile? Latest(string directory) => List(directory) is { Count: > 0 } all ? all[^1] : null;

    /// <summary>The checkpoints in the folder, oldest first.</summary>
    public IReadOnlyList<CheckpointFile> Checkpoints => List(Directory);

    /// <summary>True when the folder holds a checkpoint.</summary>
    public bool Exists => Checkpoints.Count > 0;

    /// <summary>The newest good checkpoint of a step before <paramref name="step"/>, or null.</summary>
    public CheckpointFile? LastGoodBefore(long step) => Checkpoints.LastOrDefault(c => c.Good == true && c.Step < step);

    /// <summary>
    /// Writes a checkpoint of <paramref name="trainer"/> now, then deletes the checkpoints no longer kept. Returns
    /// false, writing nothing, when the model or optimizer state holds a non-finite number (the trainer is told).
    /// </summary>
    public bool Save(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (FirstNonFinite(trainer) is { } where)
        {
            var last = Checkpoints.LastOrDefault();
            trainer.Notify($"no checkpoint of step {trainer.State.Step}: {where} holds non-finite values (the last checkpoint, {(last is null ? "none" : $"of step {last.Step}")}, stays)");
            return false;
        }
        System.IO.Directory.CreateDirectory(Directory);
        var checkpoint = trainer.CreateCheckpoint();
        var meta = new Dictionary<string, string>(checkpoint.Metadata) { [HealthKey] = Health(trainer) };
        new Checkpoint { Tensors = checkpoint.Tensors, Metadata = meta }.Save(Path.Combine(Directory, FileNameOf(trainer.State.Step)));
        Prune();
        return true;
    }

    /// <summary>
    /// Continues <paramref name="trainer"/> from the newest checkpoint that reads back intact. A damaged newer one is
    /// moved aside (renamed <c>….damaged</c>) with a warning through <paramref name="warn"/> (by default the
    /// trainer's notices). A checkpoint of another run or architecture is refused, not skipped.
    /// </summary>
    /// <returns>The checkpoint continued from.</returns>
    public CheckpointFile Restore(Trainer trainer, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        warn ??= trainer.Notify;
        var all = Checkpoints;
        if (all.Count == 0) throw new CorruptFileException(Directory, "no checkpoint there (expected checkpoint-STEP.safetensors files written by a Trainer's CheckpointManager).");
        var problems = new List<string>();
        for (int i = all.Count - 1; i >= 0; i--)
        {
            var candidate = all[i];
            Checkpoint cp;
            try
            {
                cp = Checkpoint.Load(candidate.Path);
            }
            catch (Exception e) when (e is CorruptFileException or IOException)
            {
                string aside = MoveAside(candidate.Path);
                problems.Add(e.Message);
                warn($"warning: the checkpoint of step {candidate.Step} is damaged ({e.Message}); moved aside as {Path.GetFileName(aside)}{(i > 0 ? $", falling back to the checkpoint of step {all[i - 1].Step}" : "")}");
                continue;
            }
            trainer.LoadCheckpoint(cp, candidate.Path);
            return candidate;
        }
        throw new CorruptFileException(Directory, $"every checkpoint is damaged: {string.Join("; ", problems)}");
    }

    /// <summary>Continues <paramref name="trainer"/> from <paramref name="target"/> and deletes the checkpoints after it (the abandoned path).</summary>
    public void RollBack(Trainer trainer, CheckpointFile target)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(target);
        trainer.LoadCheckpoint(Checkpoint.Load(target.Path), target.Path);
        foreach (var later in Checkpoints.Where(c => c.Step > target.Step)) TryDelete(later.Path);
    }

    /// <inheritdoc />
    public void OnFitStart(Trainer trainer) => _trainer = trainer;

    /// <inheritdoc />
    public void OnStepEnd(StepContext step)
    {
        if (EverySteps > 0 && step.Step % EverySteps == 0 && !step.Trainer.Diverged) Save(step.Trainer);
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochContext epoch)
    {
        if (!epoch.Trainer.Diverged) Save(epoch.Trainer);
    }

    /// <inheritdoc />
    public void OnFitEnd(Trainer trainer, FitResult result)
    {
        if (result.WasInterrupted && !result.Diverged) Save(trainer);
        _trainer = null;
    }

    /// <summary>The trainer of the fit in progress, if any.</summary>
    internal Trainer? Active => _trainer;

    /// <summary>Deletes the checkpoints beyond the newest <see cref="Keep"/>, except the newest good one.</summary>
    private void Prune()
    {
        var all = Checkpoints;
        var lastGood = all.LastOrDefault(c => c.Good == true);
        for (int i = 0; i < all.Count - Keep; i++)
            if (!ReferenceEquals(all[i], lastGood)) TryDelete(all[i].Path);
    }

    private string Health(Trainer trainer)
    {
        var detector = trainer.Parts.OfType<DivergenceDetector>().FirstOrDefault();
        double smoothed = detector?.SmoothedLoss ?? double.NaN, best = detector?.BestSmoothedLoss ?? double.NaN;
        // Before any loss (step 0) the state is the initial one, which is good by definition.
        bool good = double.IsNaN(smoothed) || smoothed <= GoodLossRatio * best;
        return JsonSerializer.Serialize(new HealthRecord(good, double.IsFinite(smoothed) ? smoothed : null, double.IsFinite(best) ? best : null));
    }

    private static bool? ReadGood(string path)
    {
        try
        {
            var meta = SafetensorsFile.ReadMetadata(path);
            if (!meta.TryGetValue(HealthKey, out var health)) return false;
            return JsonSerializer.Deserialize<HealthRecord>(health)?.Good ?? false;
        }
        catch (Exception e) when (e is CorruptFileException or IOException or JsonException)
        {
            return null;
        }
    }

    private static string? FirstNonFinite(Trainer trainer)
    {
        foreach (var (name, t) in trainer.Model.StateDict())
            if (!ElementwiseKernels.AllFinite(t.Span)) return "model." + name;
        foreach (var (name, t) in trainer.Optimizer.StateTensors())
            if (!ElementwiseKernels.AllFinite(t.Span)) return "optimizer state " + name;
        return null;
    }

    private static string MoveAside(string path)
    {
        string aside = path + ".damaged";
        try
        {
            File.Move(path, aside, overwrite: true);
            return aside;
        }
        catch (IOException)
        {
            return path;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A checkpoint that cannot be deleted stays; the next save tries again.
        }
    }

    private sealed record HealthRecord(
        [property: System.Text.Json.Serialization.JsonPropertyName("good")] bool Good,
        [property: System.Text.Json.Serialization.JsonPropertyName("smoothed_loss")] double? SmoothedLoss,
        [property: System.Text.Json.Serialization.JsonPropertyName("best_smoothed_loss")] double? BestSmoothedLoss);
}
