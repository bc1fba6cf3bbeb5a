namespace NormSharp.Training;

/// <summary>
/// Raises <see cref="Progress"/> after every step (with the loss and its moving average), at each epoch's end
/// (with the epoch's loss and held-out accuracy) and with every notice of another part, for progress bars
/// and logs. Reporting allocates nothing.
/// </summary>
public sealed class ProgressReporter : ITrainerCallback
{
    private double _smoothed = double.NaN;
    private double? _testAccuracy;
    private double _lastLoss = double.NaN;

    /// <summary>Reported after every step, at each epoch's end and with each notice.</summary>
    public event Action<TrainingProgress>? Progress;

    /// <summary>Weight of the newest loss in the moving average.</summary>
    public double Smoothing { get; init; } = 0.05;

    /// <inheritdoc />
    public void OnFitStart(Trainer trainer) => _smoothed = double.NaN;

    /// <inheritdoc />
    public void OnStepEnd(StepContext step)
    {
        _lastLoss = step.Loss;
        _smoothed = double.IsNaN(_smoothed) ? step.Loss : (1 - Smoothing) * _smoothed + Smoothing * step.Loss;
        if (step.Evaluation is { } e && !double.IsNaN(e.Accuracy)) _testAccuracy = e.Accuracy;
        Raise(step.Trainer, step.Loss, _smoothed, null);
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochContext epoch)
    {
        string message = $"epoch {epoch.Epoch + 1}: train loss {epoch.MeanLoss:F4}";
        if (epoch.Evaluation is { } e)
        {
            message += double.IsNaN(e.Accuracy) ? $", held-out loss {e.Loss:F4}" : $", test accuracy {e.Accuracy:P2}";
            if (!double.IsNaN(e.Accuracy)) _testAccuracy = e.Accuracy;
        }
        Raise(epoch.Trainer, epoch.MeanLoss, epoch.MeanLoss, message);
    }

    /// <inheritdoc />
    public void OnNotice(Trainer trainer, string message) => Raise(trainer, _lastLoss, _smoothed, message);

    private void Raise(Trainer trainer, double loss, double smoothed, string? message) =>
        Progress?.Invoke(new TrainingProgress(Math.Min(trainer.State.Epoch, Math.Max(0, trainer.Epochs - 1)), trainer.Epochs, trainer.State.Step, trainer.TotalSteps ?? 0, loss, smoothed, _testAccuracy, message));
}
