namespace NormSharp.Training;

/// <summary>What the parts of the loop see at the end of an epoch.</summary>
/// <param name="Trainer">The trainer.</param>
/// <param name="Epoch">The 0-based epoch that ended.</param>
/// <param name="Step">Steps taken so far in the run.</param>
/// <param name="MeanLoss">Mean training loss over the epoch (NaN if it had no step).</param>
/// <param name="LearningRate">The learning rate of the optimizer's first group at the end of the epoch.</param>
/// <param name="Evaluation">The held-out evaluation at the epoch's end, or null when the trainer has no evaluator.</param>
public sealed record EpochContext(Trainer Trainer, int Epoch, long Step, double MeanLoss, double LearningRate, EvaluationResult? Evaluation);
