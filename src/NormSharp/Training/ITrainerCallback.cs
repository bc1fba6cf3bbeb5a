namespace NormSharp.Training;

/// <summary>
/// A part of the training loop: metrics, checkpoints, fault guards, progress, early stopping and the like
/// are all callbacks, added with <see cref="Trainer.Add"/>. Every method has an empty default, so a part
/// implements only the moments it cares about. Within a moment, parts run in the order they were added.
/// A step runs: <see cref="OnStepStart"/>, forward pass and loss, <see cref="OnLoss"/>, backward pass,
/// <see cref="OnBackward"/>, optimizer update, evaluation (when due), <see cref="OnStepEnd"/>. A part
/// abandons a step with <see cref="StepContext.SkipStep"/> or ends the run with <see cref="Trainer.RequestStop"/>.
/// </summary>
public interface ITrainerCallback
{
    /// <summary>Before the first step of <see cref="Trainer{TBatch}.Fit(IBatchSource{TBatch}, int, CancellationToken)"/> (also after a resume).</summary>
    void OnFitStart(Trainer trainer) { }

    /// <summary>Before the forward pass; learning rates for this step are already set.</summary>
    void OnStepStart(StepContext step) { }

    /// <summary>After the forward pass: <see cref="StepContext.Loss"/> is known, no gradient yet.</summary>
    void OnLoss(StepContext step) { }

    /// <summary>After the backward pass, before the optimizer update: gradients may be read or changed (clipping).</summary>
    void OnBackward(StepContext step) { }

    /// <summary>After the optimizer update and, when one was due this step, the evaluation (so state a forward pass leaves in the model, such as a recurrent layer's hidden norms, is the evaluation's here: read it in <see cref="OnLoss"/>).</summary>
    void OnStepEnd(StepContext step) { }

    /// <summary>After the last batch of an epoch (and its evaluation, when the trainer evaluates).</summary>
    void OnEpochEnd(EpochContext epoch) { }

    /// <summary>Something worth telling the user (a skipped step, a rollback).</summary>
    void OnNotice(Trainer trainer, string message) { }

    /// <summary>When the fit ends, however it ends.</summary>
    void OnFitEnd(Trainer trainer, FitResult result) { }
}
