using NormSharp.Kernels;

namespace NormSharp.Training;

/// <summary>
/// Catches a non-finite loss (before the backward pass) or gradient (before the update) in the step where it
/// appears, names where it is, and applies a <see cref="NanPolicy"/>: stop the run as diverged, skip the
/// step (stopping after <see cref="MaxConsecutiveSkips"/> in a row), or roll back to the last checkpoint
/// with the learning rate lowered (halved at each rollback, cumulatively, giving up below
/// <see cref="MinLearningRateScale"/>). Add it before parts that change gradients (clipping).
/// </summary>
public sealed class NanGuard : ITrainerCallback
{
    private readonly CheckpointManager? _checkpoints;
    private int _consecutiveSkips;

    /// <summary>Creates the guard; <paramref name="rollbackTo"/> is required by <see cref="NanPolicy.Rollback"/>.</summary>
    public NanGuard(NanPolicy policy = NanPolicy.Stop, CheckpointManager? rollbackTo = null)
    {
        if (!Enum.IsDefined(policy)) throw new Errors.InvalidValueException(nameof(policy), $"NanGuard: unknown policy {(int)policy}.");
        if (policy == NanPolicy.Rollback && rollbackTo is null)
            throw new Errors.InvalidValueException(nameof(rollbackTo), "NanGuard: the rollback policy needs the CheckpointManager whose checkpoints it rolls back to.");
        Policy = policy;
        _checkpoints = rollbackTo;
    }

    /// <summary>What happens on a fault.</summary>
    public NanPolicy Policy { get; }

    /// <summary>Skipped steps in a row after which the skip policy gives up.</summary>
    public int MaxConsecutiveSkips { get; init; } = 10;

    /// <summary>The rollback policy gives up once the learning-rate scale would fall to or below this.</summary>
    public double MinLearningRateScale { get; init; } = 1e-3;

    /// <summary>
    /// Names where a non-finite loss came from, as text appended to the fault message (e.g.
    /// <c>" (first non-finite activation: output of layers.0)"</c>). By default the first parameter holding a
    /// non-finite value is named, if any.
    /// </summary>
    public Func<string>? LocateLossFault { get; init; }

    /// <inheritdoc />
    public void OnFitStart(Trainer trainer)
    {
        _consecutiveSkips = 0;
        // Rolling back needs somewhere to roll back to, even before the first scheduled checkpoint.
        if (Policy == NanPolicy.Rollback && trainer.State.Step == 0) _checkpoints!.Save(trainer);
    }

    /// <inheritdoc />
    public void OnLoss(StepContext step)
    {
        if (double.IsFinite(step.Loss)) return;
        Fault(step, $"non-finite loss {step.Loss} at step {step.Step}{(LocateLossFault ?? (() => FirstNonFiniteParameter(step.Trainer)))()}");
    }

    /// <inheritdoc />
    public void OnBackward(StepContext step)
    {
        if (double.IsFinite(step.Gradients.Global)) return;
        Fault(step, $"non-finite gradient at step {step.Step} in {FirstNonFiniteGradient(step.Trainer)}");
    }

    /// <inheritdoc />
    public void OnStepEnd(StepContext step) => _consecutiveSkips = 0;

    private void Fault(StepContext step, string fault)
    {
        var trainer = step.Trainer;
        switch (Policy)
        {
            case NanPolicy.Skip when ++_consecutiveSkips < MaxConsecutiveSkips:
                step.SkipStep();
                trainer.Notify($"skipped step: {fault}");
                return;
            case NanPolicy.Rollback when _checkpoints!.Exists && trainer.State.LearningRateScale * 0.5 > MinLearningRateScale:
                {
                    // The scale is kept across the rollback (the checkpoint holds an older one), so repeated faults lower the rate further.
                    double scale = trainer.State.LearningRateScale * 0.5;
                    _checkpoints.Restore(trainer);
                    trainer.State.LearningRateScale = scale;
                    step.SkipStep();
                    trainer.Notify($"rolled back to step {trainer.State.Step} with the learning rate halved (now {scale:G3}× the scheduled rate): {fault}");
                    return;
                }
            default:
                trainer.RequestStop(fault, diverged: true);
                return;
        }
    }

    private static string FirstNonFiniteParameter(Trainer trainer)
    {
        foreach (var (name, p) in trainer.Model.NamedParameters())
            if (!ElementwiseKernels.AllFinite(p.Value.Span)) return $" (parameter {name} holds non-finite values)";
        return "";
    }

    private static string FirstNonFiniteGradient(Trainer trainer)
    {
        foreach (var (name, p) in trainer.Model.NamedParameters())
            if (p.HasGrad && !ElementwiseKernels.AllFinite(p.Grad!.Span)) return name;
        return "an unknown parameter";
    }
}
