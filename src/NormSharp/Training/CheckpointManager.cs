namespace NormSharp.Training;

/// <summary>
/// Writes the trainer's complete state to <c>checkpoint.safetensors</c> in a folder, atomically: every
/// <see cref="EverySteps"/> steps, at the end of every epoch, and when a fit is interrupted. A run that
/// diverged is not checkpointed (the last checkpoint stays the last good state). Add it after the parts
/// whose state it saves (metrics), so their rows of the step are in the checkpoint.
/// </summary>
public sealed class CheckpointManager : ITrainerCallback
{
    private Trainer? _trainer;

    /// <summary>Checkpoints into <paramref name="directory"/> every <paramref name="everySteps"/> steps (0: only at epoch ends and interruptions).</summary>
    public CheckpointManager(string directory, long everySteps = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (everySteps < 0) throw new Errors.InvalidValueException(nameof(everySteps), $"CheckpointManager: everySteps must be >= 0, got {everySteps}.");
        Directory = directory;
        EverySteps = everySteps;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>Steps between checkpoints (0: epoch ends only).</summary>
    public long EverySteps { get; }

    /// <summary>The checkpoint file.</summary>
    public string Path => System.IO.Path.Combine(Directory, Checkpoint.FileName);

    /// <summary>True when a checkpoint has been written.</summary>
    public bool Exists => File.Exists(Path);

    /// <summary>Writes a checkpoint of <paramref name="trainer"/> now.</summary>
    public void Save(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        System.IO.Directory.CreateDirectory(Directory);
        trainer.CreateCheckpoint().Save(Path);
    }

    /// <summary>Continues <paramref name="trainer"/> from the latest checkpoint.</summary>
    public void Restore(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        trainer.LoadCheckpoint(Path);
    }

    /// <inheritdoc />
    public void OnFitStart(Trainer trainer) => _trainer = trainer;

    /// <inheritdoc />
    public void OnStepEnd(StepContext step)
    {
        if (EverySteps > 0 && step.Step % EverySteps == 0 && !step.Trainer.Diverged) Save(step.Trainer);
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochContext epoch) => Save(epoch.Trainer);

    /// <inheritdoc />
    public void OnFitEnd(Trainer trainer, FitResult result)
    {
        if (result.WasInterrupted && !result.Diverged) Save(trainer);
        _trainer = null;
    }

    /// <summary>The trainer of the fit in progress, if any.</summary>
    internal Trainer? Active => _trainer;
}
