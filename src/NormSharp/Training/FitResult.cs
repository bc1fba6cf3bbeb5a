namespace NormSharp.Training;

/// <summary>How a call to <see cref="Trainer{TBatch}.Fit(IBatchSource{TBatch}, int, CancellationToken)"/> ended.</summary>
/// <param name="Steps">Optimizer steps taken in the whole run (including those before a resume).</param>
/// <param name="Epochs">Epochs completed.</param>
/// <param name="FinalTrainLoss">Mean training loss of the last completed epoch, or of the current one when none completed.</param>
/// <param name="SamplesPerSecond">Training samples per second of training time in this call (evaluation and checkpoints excluded).</param>
/// <param name="Diverged">True when a part stopped the run for a numerical fault or an exploding loss.</param>
/// <param name="StopReason">Why the run stopped early (<c>"interrupted"</c> when cancelled), or null when it ran to the end.</param>
public sealed record FitResult(long Steps, int Epochs, double FinalTrainLoss, double SamplesPerSecond, bool Diverged, string? StopReason)
{
    /// <summary>The reason given when cancellation stopped the run.</summary>
    public const string Interrupted = "interrupted";

    /// <summary>True when the run was cancelled.</summary>
    public bool WasInterrupted => StopReason == Interrupted;
}
