using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Training.Tasks;

/// <summary>
/// What the trainer learns: where batches come from, how a model's output on the current batch becomes a
/// loss, and how a model is scored on held-out data. Accuracy means the fraction of scored units (images,
/// sequences, recalled symbols) the model gets right.
/// </summary>
public interface ITrainingTask
{
    /// <summary>The task's name as the CLI spells it.</summary>
    string Name { get; }

    /// <summary>Batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The current epoch (0-based).</summary>
    int Epoch { get; }

    /// <summary>Samples in the current batch.</summary>
    int Count { get; }

    /// <summary>The current batch's inputs, [count, features].</summary>
    Tensor Inputs { get; }

    /// <summary>Moves to the next batch; false at the end of an epoch (the next call starts the next one).</summary>
    bool Next();

    /// <summary>The position in the data, for checkpoints.</summary>
    LoaderState GetState();

    /// <summary>Continues from a saved position.</summary>
    void SetState(LoaderState state);

    /// <summary>Builds the model the task trains.</summary>
    Module BuildModel(TrainingConfig config, Rng rng);

    /// <summary>Forward pass and loss on the current batch; <paramref name="correct"/> of <paramref name="scored"/> units right.</summary>
    Variable Loss(Module model, out int correct, out int scored);

    /// <summary>Mean loss and accuracy on the held-out data, in evaluation mode without recording.</summary>
    (double Loss, double Accuracy) Evaluate(Module model);
}
