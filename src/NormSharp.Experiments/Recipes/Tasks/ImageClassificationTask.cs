using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Kernels;
using NormSharp.Layers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes.Tasks;

/// <summary>Image classification (MNIST digits, Fashion-MNIST) with an MLP or a recurrent model reading images as sequences.</summary>
public sealed class ImageClassificationTask : ITrainingTask
{
    private readonly DatasetSplit _data;
    private readonly BatchLoader _loader;
    private readonly (float Mean, float Std)? _standardization;
    private readonly TrainingConfig _config;
    private BatchLoader? _testLoader;
    private const int EvaluationBatch = 1000;

    /// <summary>Creates the task over <paramref name="data"/> (the training set already limited as the config says).</summary>
    public ImageClassificationTask(TrainingConfig config, DatasetSplit data)
    {
        _data = data;
        _config = config;
        _standardization = config.Standardize ? BatchLoader.Statistics(data.Train) : null;
        _loader = new BatchLoader(data.Train, config.BatchSize, config.Seed, shuffle: true, dropLast: DropsLoneSample(config, data.Train.Count), standardization: _standardization);
        Name = config.Model == ModelKind.Rnn ? Spelling.Of(config.Task) : "classify";
    }

    /// <summary>Batch statistics need two samples: a last batch of one is skipped when the model uses batch normalization.</summary>
    internal static bool DropsLoneSample(TrainingConfig config, int count) =>
        (config.Model == ModelKind.Mlp ? config.Norm is NormKind.Batch or NormKind.SyncBatch : config.Cell == Layers.Recurrent.CellKind.BnLstm) && count % config.BatchSize == 1;

    /// <inheritdoc />
    public string Name { get; }
    /// <inheritdoc />
    public BatchLoader Loader => _loader;

    /// <inheritdoc />
    public double ChanceLoss => Math.Log(_data.Train.Classes);

    /// <inheritdoc />
    public MemoryEstimate EstimateMemory(TrainingConfig config)
    {
        var train = _data.Train;
        var (inputsPerStep, steps) = config.Model != ModelKind.Rnn ? (train.Features, 1)
            : config.Task == SequenceTask.SeqMnistRows ? (train.Width, train.Height) : (1, train.Features);
        // A BN-LSTM's evaluation first runs one batch of up to SuggestedSampleCount training images.
        int evaluated = config.Model == ModelKind.Rnn && config.Cell == Layers.Recurrent.CellKind.BnLstm && ReestimatesPopulationStatistics
            ? Math.Max(EvaluationBatch, Math.Min(train.Count, PopulationStatistics.SuggestedSampleCount)) : EvaluationBatch;
        return MemoryEstimate.Of(config, inputsPerStep, steps, train.Classes, evaluated);
    }

    /// <inheritdoc />
    public Module BuildModel(TrainingConfig config, Rng rng) =>
        ModelFactory.BuildModel(config, _data.Train.Height, _data.Train.Width, _data.Train.Classes, rng);

    /// <inheritdoc />
    public StepLoss Loss(Module model, LabeledBatch batch)
    {
        int count = batch.Count;
        var labels = batch.Labels.AsSpan(0, count);
        var logits = model.Forward(Variable.Constant(batch.Inputs));
        var loss = F.CrossEntropy(logits, labels);
        int correct = LossKernels.CountCorrect(logits.Value.Span, labels, count, logits.Value.Dim(1));
        return new StepLoss(loss, count, correct, count);
    }

    /// <inheritdoc />
    public EvaluationResult Evaluate(Module model) => Score(model, _testLoader ??= TestLoader(_data.Test), _data.Test.Count);

    /// <inheritdoc />
    public EvaluationResult Evaluate(Module model, int limit)
    {
        if (limit <= 0 || limit >= _data.Test.Count) return Evaluate(model);
        if (_sampleLoader is null || _sampleLimit != limit) (_sampleLoader, _sampleLimit) = (TestLoader(_data.Test.Take(limit)), limit);
        // A progress check re-estimates batch-normalized cells' statistics on as many training images as it scores.
        return Score(model, _sampleLoader, limit, populationSamples: limit);
    }

    private int _sampleLimit;

    private BatchLoader TestLoader(Dataset test) => new(test, EvaluationBatch, 0, shuffle: false, standardization: _standardization);

    private BatchLoader? _sampleLoader;

    private EvaluationResult Score(Module model, BatchLoader loader, int count, int populationSamples = PopulationStatistics.SuggestedSampleCount)
    {
        // Batch-normalized recurrent cells are scored with population statistics re-estimated on the training images with the current weights.
        if (ReestimatesPopulationStatistics) PopulationStatistics.Reestimate(model, PopulationBatches(populationSamples));
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            loader.SetState(new LoaderState(0, 0));
            double lossSum = 0;
            long correct = 0;
            while (loader.Next())
            {
                var logits = model.Forward(Variable.Constant(loader.Batch));
                var labels = loader.Labels.AsSpan(0, loader.Count);
                lossSum += F.CrossEntropy(logits, labels).Item() * loader.Count;
                correct += LossKernels.CountCorrect(logits.Value.Span, labels, loader.Count, logits.Value.Dim(1));
            }
            return new EvaluationResult(lossSum / count, (double)correct / count);
        }
        finally
        {
            model.Train();
        }
    }

    /// <summary>
    /// Whether <c>Evaluate</c> first re-estimates the population statistics of batch-normalized recurrent cells over
    /// one pass of the training images with the current weights (<see cref="PopulationStatistics"/>); true by default.
    /// False scores the statistics the model holds, e.g. to test a model on sequences longer than it was trained on.
    /// </summary>
    public bool ReestimatesPopulationStatistics { get; init; } = true;

    /// <summary>
    /// The training images as one batch, or a random sample of <see cref="PopulationStatistics.SuggestedSampleCount"/>
    /// of them drawn with a seed of its own (the training loader is not moved).
    /// </summary>
    private IEnumerable<Tensor> PopulationBatches(int samples)
    {
        var loader = new BatchLoader(_data.Train, Math.Min(_data.Train.Count, samples), _config.Seed ^ 0x9E3779B97F4A7C15UL,
            shuffle: true, standardization: _standardization);
        if (loader.Next()) yield return loader.Batch;
    }
}
