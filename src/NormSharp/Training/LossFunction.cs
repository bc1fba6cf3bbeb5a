using NormSharp.Autograd;
using NormSharp.Layers;

namespace NormSharp.Training;

/// <summary>
/// The training objective: runs <paramref name="model"/> on <paramref name="batch"/> and returns the loss to
/// minimize. A lambda that returns the loss <see cref="Variable"/> is enough
/// (<c>(m, b) =&gt; F.CrossEntropy(m.Forward(b.Input), b.Labels)</c>); return a <see cref="StepLoss"/> to also
/// report how many samples the batch held and how many of them the model got right.
/// </summary>
public delegate StepLoss LossFunction<in TBatch>(Module model, TBatch batch);

/// <summary>One step's loss and what the step scored.</summary>
/// <param name="Loss">The scalar loss to backpropagate.</param>
/// <param name="Samples">Samples in the batch: the weight of this loss in the epoch's mean (1 when not reported, making the epoch loss a mean over batches).</param>
/// <param name="Correct">Units (samples, sequences, symbols) the model got right, for the accuracy metric.</param>
/// <param name="Scored">Units scored; accuracy is Correct / Scored (not reported when 0).</param>
public readonly record struct StepLoss(Variable Loss, int Samples = 1, int Correct = 0, int Scored = 0)
{
    /// <summary>A loss with nothing else reported.</summary>
    public static implicit operator StepLoss(Variable loss) => new(loss);
}
