using NormSharp.Data;
using NormSharp.Layers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes.Tasks;

/// <summary>
/// What a recipe learns: the batches (a resumable <see cref="BatchLoader"/>), the model, how a model's
/// output on a batch becomes a loss, and how a model is scored on held-out data. Accuracy means the
/// fraction of scored units (images, sequences, recalled symbols) the model gets right.
/// </summary>
public interface ITrainingTask
{
    /// <summary>The task's name.</summary>
    string Name { get; }

    /// <summary>The training batches.</summary>
    BatchLoader Loader { get; }

    /// <summary>
    /// The loss of a model that has learned nothing but the targets' distribution (ln C for C equally likely
    /// classes, the targets' variance for a regression): the scale an exploding loss is judged against.
    /// </summary>
    double ChanceLoss { get; }

    /// <summary>What training <paramref name="config"/>'s model on this task needs in memory, estimated before it is built.</summary>
    MemoryEstimate EstimateMemory(TrainingConfig config);

    /// <summary>Builds the model the task trains.</summary>
    Module BuildModel(TrainingConfig config, Rng rng);

    /// <summary>Forward pass and loss on <paramref name="batch"/>, with the samples and the units scored and right.</summary>
    StepLoss Loss(Module model, LabeledBatch batch);

    /// <summary>Mean loss and accuracy on the held-out data, in evaluation mode without recording.</summary>
    EvaluationResult Evaluate(Module model);

    /// <summary>
    /// As <see cref="Evaluate(Module)"/>, on at most the first <paramref name="limit"/> held-out samples (a cheap
    /// progress check between epochs; <see cref="TrainingConfig.EvalLimit"/>). A task whose held-out data cannot
    /// be cut scores all of it.
    /// </summary>
    EvaluationResult Evaluate(Module model, int limit) => Evaluate(model);
}
