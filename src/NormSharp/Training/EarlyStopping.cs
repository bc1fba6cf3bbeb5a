using System.Globalization;

namespace NormSharp.Training;

/// <summary>
/// Stops the run when the held-out loss has not improved by more than <see cref="MinDelta"/> for
/// <see cref="Patience"/> evaluations in a row (Keras' <c>EarlyStopping</c> on <c>val_loss</c>). It watches
/// every evaluation the trainer makes (between epochs with <see cref="Trainer.EvaluateEvery"/>, and at each
/// epoch's end), so the trainer needs an <see cref="Trainer.Evaluator"/>. Its memory is saved in checkpoints.
/// </summary>
public sealed class EarlyStopping : ITrainerCallback, ICheckpointState
{
    private double _best = double.PositiveInfinity;
    private int _bad;

    /// <summary>Stops after <paramref name="patience"/> evaluations without an improvement larger than <paramref name="minDelta"/>.</summary>
    public EarlyStopping(int patience, double minDelta = 0)
    {
        if (patience < 1) throw new Errors.InvalidValueException(nameof(patience), $"EarlyStopping: patience must be at least 1, got {patience}.");
        if (!(minDelta >= 0) || double.IsInfinity(minDelta)) throw new Errors.InvalidValueException(nameof(minDelta), $"EarlyStopping: minDelta must be a non-negative finite number, got {minDelta}.");
        Patience = patience;
        MinDelta = minDelta;
    }

    /// <summary>Evaluations without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>The smallest decrease of the held-out loss that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>The best held-out loss seen.</summary>
    public double Best => _best;

    /// <inheritdoc />
    public void OnFitStart(Trainer trainer)
    {
        if (trainer.Evaluator is null)
            throw new Errors.InvalidValueException(nameof(Trainer.Evaluator), "EarlyStopping: the trainer has no Evaluator, so there is no held-out loss to watch.");
    }

    /// <inheritdoc />
    public void OnStepEnd(StepContext step)
    {
        if (step.Evaluation is { } e) Observe(step.Trainer, e.Loss);
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochContext epoch)
    {
        if (epoch.Evaluation is { } e) Observe(epoch.Trainer, e.Loss);
    }

    private void Observe(Trainer trainer, double loss)
    {
        if (loss < _best - MinDelta)
        {
            _best = loss;
            _bad = 0;
            return;
        }
        if (++_bad >= Patience)
            trainer.RequestStop($"early stopping: the held-out loss did not improve on {_best:G6} for {Patience} evaluations", diverged: false);
    }

    /// <inheritdoc />
    public string StateKey => "early_stopping";

    /// <inheritdoc />
    public string SaveState() => string.Create(CultureInfo.InvariantCulture, $"{_best:R};{_bad}");

    /// <inheritdoc />
    public void LoadState(string state)
    {
        var parts = state.Split(';');
        if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double best) || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int bad) || bad < 0)
            throw new Errors.InvalidValueException(nameof(state), $"EarlyStopping: the saved state '{state}' is not valid.");
        _best = best;
        _bad = bad;
    }
}
