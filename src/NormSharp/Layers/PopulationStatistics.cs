using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// Re-estimates the evaluation statistics of a model's batch-normalized recurrent cells with its final weights,
/// as Cooijmans et al. (2016) do for recurrent batch normalization: running averages collected while the
/// weights moved describe earlier weights, and at time steps whose batch variance is tiny (a blank first
/// image row, a zero initial state) a stale running mean is amplified by 1/√(var + eps) at evaluation. The
/// model runs forward over the given batches with frozen weights, normalizing with batch statistics as in
/// training; each time step's population mean and variance become those of all samples of the pass
/// (<see cref="PopulationVariance.Pooled"/>), or the average of the batches' means and unbiased variances
/// (<see cref="PopulationVariance.BatchAverage"/>, what PyTorch's <c>torch.optim.swa_utils.update_bn</c> computes).
/// <para>
/// Use batches as large as memory allows. The pass normalizes every step with its batch's statistics, so the
/// states it reaches at later steps follow that batch's normalization of the earlier steps, while evaluation
/// follows the population's; where batch statistics are noisy (a few inked pixels in a batch of 64) the two
/// drift apart, and statistics collected over small batches describe states evaluation never produces. One
/// batch of all the samples (or of a large random sample of them, <see cref="SuggestedSampleCount"/>) gives the
/// statistics of exactly the states evaluation produces on those samples: each step is normalized with the
/// statistics of all of them.
/// </para>
/// </summary>
public static class PopulationStatistics
{
    /// <summary>
    /// How many training samples the training tasks re-estimate from, in one batch (all of them when there are
    /// fewer). Measured on sequential MNIST rows with a BN-LSTM trained in batches of 64 (hidden 128, 8000 images,
    /// 10 epochs, seed 1): evaluation-mode test accuracy 64% with statistics from batches of 64, 90% from batches of
    /// 1000, 97% from one batch of all 8000, where the same weights score 96% with training-mode batch statistics.
    /// </summary>
    public const int SuggestedSampleCount = 10_000;

    /// <summary>Whether <paramref name="model"/> holds a module whose statistics <see cref="Reestimate"/> can re-estimate.</summary>
    public static bool Applies(Module model) => model.NamedModules().Any(m => m.Module is IPopulationStatistics);

    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="inputBatches"/> (each a model input with at least two
    /// samples along its first dimension; see the class remarks on their size) without recording gradients and other modules in evaluation mode,
    /// and replaces the evaluation statistics of every re-estimable module by the statistics of the pass. Returns the
    /// number of batches used (0 when the model has nothing to re-estimate). When it fails, the statistics are
    /// left as they were. The model's mode is restored afterwards.
    /// </summary>
    /// <exception cref="InvalidValueException">There are no batches, or a batch holds fewer than two samples.</exception>
    public static int Reestimate(Module model, IEnumerable<Tensor> inputBatches, PopulationVariance variance = PopulationVariance.Pooled)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputBatches);
        return Run(model, inputBatches, batchDim: 0, variance, batch => model.Forward(Variable.Constant(batch)));
    }

    /// <summary>
    /// The shared pass: <paramref name="forward"/> runs one batch (its samples along <paramref name="batchDim"/>)
    /// while the re-estimable modules of <paramref name="root"/> collect.
    /// </summary>
    internal static int Run(Module root, IEnumerable<Tensor> batches, int batchDim, PopulationVariance variance, Action<Tensor> forward)
    {
        var targets = root.NamedModules().Select(m => m.Module).OfType<IPopulationStatistics>().ToList();
        if (targets.Count == 0) return 0;
        bool wasTraining = root.IsTraining;
        root.Eval();
        if (!Enum.IsDefined(variance)) throw new InvalidValueException(nameof(variance), $"population statistics: unknown variance estimate {(int)variance}.");
        foreach (var t in targets) t.BeginPopulationEstimate(variance);
        bool complete = false;
        int used = 0;
        try
        {
            using var _ = GradMode.NoGrad();
            foreach (var batch in batches)
            {
                int samples = batch.Rank > batchDim ? batch.Dim(batchDim) : 1;
                if (samples < 2)
                    throw new InvalidValueException(nameof(batches), $"population statistics: batch {used + 1} holds {samples} sample(s); batch statistics need at least two. The statistics are left as they were.");
                forward(batch);
                used++;
            }
            if (used == 0)
                throw new InvalidValueException(nameof(batches), "population statistics: no batches to estimate from; the statistics are left as they were.");
            complete = true;
        }
        finally
        {
            foreach (var t in targets) t.EndPopulationEstimate(apply: complete);
            if (wasTraining) root.Train();
        }
        return used;
    }
}
