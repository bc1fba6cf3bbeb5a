namespace NormSharp.Training;

/// <summary>What went wrong numerically in a step.</summary>
public enum TrainingFaultKind
{
    /// <summary>The loss is NaN or infinite.</summary>
    NonFiniteLoss,
    /// <summary>A gradient holds NaN or infinite values.</summary>
    NonFiniteGradient,
    /// <summary>The loss is finite but has exploded far beyond the run's scale (weights blown up by too large a rate).</summary>
    ExplodingLoss,
}

/// <summary>A numerical fault found in the step in progress, reported with <see cref="Trainer.ReportFault"/>.</summary>
/// <param name="Kind">What kind of fault.</param>
/// <param name="Message">What happened and where (step, layer or parameter), in words.</param>
public sealed record TrainingFault(TrainingFaultKind Kind, string Message);
