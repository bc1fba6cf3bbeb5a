using NormSharp.Kernels;

namespace NormSharp.Training;

/// <summary>
/// Catches a non-finite loss (before the backward pass) or gradient (before the update) in the step where it
/// appears, names where it is, and handles it and every other numerical fault reported to the trainer (an
/// exploding loss from <see cref="DivergenceDetector"/>) by its <see cref="NanPolicy"/>:
/// <list type="bullet">
/// <item><description>stop: the run stops as diverged;</description></item>
/// <item><description>skip: the step is skipped, and the run stops after <see cref="MaxConsecutiveSkips"/> in a row (an
/// exploding loss stops it at once: skipping a step cannot shrink weights that have blown up);</description></item>
/// <item><description>rollback: the run goes back to the newest good checkpoint older than the weights that failed
/// (see <see cref="CheckpointManager"/>), with the learning rate halved, cumulatively; it gives up, stopping
/// as diverged with the fault named, once the rate would fall below <see cref="MinLearningRateScale"/>× the
/// scheduled one or no good checkpoint is left.</description></item>
/// </list>
/// Add it before parts that change gradients (clipping) and before the detector.
/// </summary>
public sealed class NanGuard : ITrainerCallback, IFaultHandler
{
    private readonly CheckpointManager? _checkpoints;
    private int _consecutiveSkips;
    private int _rollbacks;

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

    /// <summary>The rollback policy gives up once the learning-rate scale would fall below this.</summary>
    public double MinLearningRateScale { get; init; } = 1e-3;

    /// <summary>Rollbacks made in this fit.</summary>
    public int Rollbacks => _rollbacks;

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
        _rollbacks = 0;
        // Rolling back needs somewhere to roll back to, even before the first scheduled checkpoint.
        if (Policy == NanPolicy.Rollback && _checkpoints!.LastGoodBefore(long.MaxValue) is null) _checkpoints.Save(trainer);
    }

    /// <inheritdoc />
    public void OnLoss(StepContext step)
    {
        if (double.IsFinite(step.Loss)) return;
        string where = (LocateLossFault ?? (() => FirstNonFiniteParameter(step.Trainer)))();
        step.Trainer.ReportFault(step, new TrainingFault(TrainingFaultKind.NonFiniteLoss, $"non-finite loss {step.Loss} at step {step.Step}{where}"));
    }

    /// <inheritdoc />
    public void OnBackward(StepContext step)
    {
        if (double.IsFinite(step.Gradients.Global)) return;
        step.Trainer.ReportFault(step, new TrainingFault(TrainingFaultKind.NonFiniteGradient, $"non-finite gradient at step {step.Step} in {FirstNonFiniteGradient(step.Trainer)}"));
    }

    /// <inheritdoc />
    public void OnStepEnd(StepContext step) => _consecutiveSkips = 0;

    /// <inheritdoc />
    public bool Handle(StepContext step, TrainingFault fault)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(fault);
        var trainer = step.Trainer;
        switch (Policy)
        {
            case NanPolicy.Skip when fault.Kind == TrainingFaultKind.ExplodingLoss:
                trainer.RequestStop($"{fault.Message} (skipping steps cannot undo an explosion)", diverged: true);
                return true;
            case NanPolicy.Skip when ++_consecutiveSkips < MaxConsecutiveSkips:
                step.SkipStep();
                trainer.Notify($"skipped step: {fault.Message}");
                return true;
            case NanPolicy.Skip:
                trainer.RequestStop($"{fault.Message} ({MaxConsecutiveSkips} steps in a row failed; gave up skipping)", diverged: true);
                return true;
            case NanPolicy.Rollback:
                RollBack(step, fault);
                return true;
            default:
                trainer.RequestStop(fault.Message, diverged: true);
                return true;
        }
    }

    private void RollBack(StepContext step, TrainingFault fault)
    {
        var trainer = step.Trainer;
        double scale = trainer.State.LearningRateScale * 0.5;
        if (scale < MinLearningRateScale)
        {
            trainer.RequestStop($"{fault.Message}; gave up after {_rollbacks} rollback{(_rollbacks == 1 ? "" : "s")}: the learning rate would fall to {scale:G3}× the scheduled one, below the limit of {MinLearningRateScale:G3}×", diverged: true);
            return;
        }
        // A checkpoint of the current step holds the very weights that just failed: go to an older good one.
        var target = _checkpoints!.LastGoodBefore(trainer.State.Step);
        if (target is null)
        {
            trainer.RequestStop($"{fault.Message}; no good checkpoint before step {trainer.State.Step} to roll back to{(_rollbacks > 0 ? $" after {_rollbacks} rollback{(_rollbacks == 1 ? "" : "s")}" : "")}", diverged: true);
            return;
        }
        _checkpoints.RollBack(trainer, target);
        trainer.State.LearningRateScale = scale;
        _rollbacks++;
        step.SkipStep();
        // The lowered rate is part of the state now: a run killed after this resumes with it.
        _checkpoints.Save(trainer);
        trainer.Notify($"rolled back to step {trainer.State.Step} (the last good checkpoint) with the learning rate halved (now {scale:G3}× the scheduled rate): {fault.Message}");
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
