namespace NormSharp.Training;

/// <summary>
/// Ends a fit once the run has taken <see cref="Steps"/> optimizer steps in all (counting those before a resume),
/// for runs measured in steps rather than epochs. The fit's result then gives <see cref="Reason"/> as its stop reason.
/// </summary>
public sealed class StepLimit : ITrainerCallback
{
    /// <summary>Stops after <paramref name="steps"/> steps.</summary>
    /// <exception cref="Errors.InvalidValueException"><paramref name="steps"/> is not positive.</exception>
    public StepLimit(long steps)
    {
        if (steps <= 0) throw new Errors.InvalidValueException(nameof(steps), $"StepLimit: the number of steps must be positive, got {steps}.");
        Steps = steps;
    }

    /// <summary>Steps the run takes.</summary>
    public long Steps { get; }

    /// <summary>The stop reason this part gives.</summary>
    public string Reason => $"completed {Steps} steps";

    /// <inheritdoc />
    public void OnFitStart(Trainer trainer)
    {
        // A run resumed after its last step has nothing left to do.
        if (trainer.State.Step >= Steps) trainer.RequestStop(Reason, diverged: false);
    }

    /// <inheritdoc />
    public void OnStepEnd(StepContext step)
    {
        if (step.Trainer.State.Step >= Steps) step.Trainer.RequestStop(Reason, diverged: false);
    }
}
