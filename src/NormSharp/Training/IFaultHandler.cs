namespace NormSharp.Training;

/// <summary>
/// A trainer part that decides what a numerical fault does to the run (<see cref="NanGuard"/>: stop, skip the
/// step, or roll back). <see cref="Trainer.ReportFault"/> offers each fault to the handlers in the order they
/// were added; a fault no handler takes stops the run as diverged.
/// </summary>
public interface IFaultHandler
{
    /// <summary>Handles <paramref name="fault"/> of <paramref name="step"/> (skipping the step, stopping or rolling back the run); false to leave it to the next handler.</summary>
    bool Handle(StepContext step, TrainingFault fault);
}
