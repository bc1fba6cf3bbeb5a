using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes.Tasks;

/// <summary>
/// The shared machinery of generated sequence tasks: a training and a test set drawn from a seed, and a
/// <see cref="BatchLoader"/> whose labels carry sample indices, which the task maps to its own targets.
/// </summary>
public abstract class SyntheticSequenceTask : ITrainingTask
{
    private readonly BatchLoader _loader;

    /// <summary>Time steps per sequence.</summary>
    public int Steps { get; }

    /// <summary>Inputs per time step.</summary>
    public int StepWidth { get; }

    /// <summary>Training inputs, [N, Steps·StepWidth].</summary>
    protected Tensor TrainInputs { get; }

    /// <summary>Test inputs.</summary>
    protected Tensor TestInputs { get; }

    /// <summary>Allocates the training and test inputs (the subclass fills them and keeps its targets) and the loader over them.</summary>
    protected SyntheticSequenceTask(TrainingConfig config, int steps, int stepWidth, int trainCount, int testCount)
    {
        Steps = steps;
        StepWidth = stepWidth;
        TrainInputs = Tensor.Zeros(trainCount, steps * stepWidth);
        TestInputs = Tensor.Zeros(testCount, steps * stepWidth);
        var indices = Enumerable.Range(0, trainCount).ToArray();
        var set = new Dataset(Name + "/train", TrainInputs, indices, trainCount, steps, stepWidth);
        _loader = new BatchLoader(set, config.BatchSize, config.Seed, shuffle: true, dropLast: ImageClassificationTask.DropsLoneSample(config, trainCount));
    }

    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public BatchLoader Loader => _loader;

    /// <inheritdoc />
    public abstract double ChanceLoss { get; }

    /// <inheritdoc />
    public abstract MemoryEstimate EstimateMemory(TrainingConfig config);

    /// <summary>Test sequences scored at a time.</summary>
    protected const int EvaluationBatch = 500;

    /// <summary>The largest batch an evaluation runs: a BN-LSTM's first runs one batch of up to <see cref="PopulationStatistics.SuggestedSampleCount"/> training sequences.</summary>
    protected int EvaluationSamples(TrainingConfig config) =>
        config.Cell == CellKind.BnLstm && ReestimatesPopulationStatistics
            ? Math.Max(EvaluationBatch, Math.Min(TrainInputs.Dim(0), PopulationStatistics.SuggestedSampleCount)) : EvaluationBatch;

    /// <inheritdoc />
    public abstract Module BuildModel(TrainingConfig config, Rng rng);

    /// <inheritdoc />
    public abstract StepLoss Loss(Module model, LabeledBatch batch);

    /// <inheritdoc />
    public abstract EvaluationResult Evaluate(Module model);

    /// <summary>Runs <paramref name="score"/> over the test set in batches of <see cref="EvaluationBatch"/>, in evaluation mode without recording.</summary>
    protected EvaluationResult EvaluateInBatches(Module model, Func<Tensor, int, int, (double LossSum, int Correct, int Scored)> score)
    {
        // Batch-normalized recurrent cells are scored with population statistics re-estimated on the training sequences with the current weights.
        if (ReestimatesPopulationStatistics) PopulationStatistics.Reestimate(model, PopulationBatches());
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            double loss = 0;
            long correct = 0, scored = 0;
            int n = TestInputs.Dim(0);
            for (int start = 0; start < n; start += EvaluationBatch)
            {
                int count = Math.Min(EvaluationBatch, n - start);
                var (l, c, s) = score(TestInputs.Narrow(start, count), start, count);
                loss += l;
                correct += c;
                scored += s;
            }
            return new EvaluationResult(loss / n, (double)correct / Math.Max(1, scored));
        }
        finally
        {
            model.Train();
        }
    }

    /// <summary>
    /// Whether <c>Evaluate</c> first re-estimates the population statistics of batch-normalized recurrent cells over
    /// one pass of the training sequences with the current weights (<see cref="PopulationStatistics"/>); true by default.
    /// False scores the statistics the model holds, e.g. to test a model on sequences longer than it was trained on.
    /// </summary>
    public bool ReestimatesPopulationStatistics { get; init; } = true;

    /// <summary>
    /// The training sequences as one batch, or the first <see cref="PopulationStatistics.SuggestedSampleCount"/> of
    /// them (drawn independently, so they are a random sample).
    /// </summary>
    private IEnumerable<Tensor> PopulationBatches()
    {
        yield return TrainInputs.Narrow(0, Math.Min(TrainInputs.Dim(0), PopulationStatistics.SuggestedSampleCount));
    }

    /// <summary>The recurrent layer a sequence task's models use.</summary>
    protected static RecurrentLayer BuildRecurrent(TrainingConfig config, int stepWidth, int steps, Rng rng)
    {
        var rnn = new RecurrentLayer(config.Cell, stepWidth, config.Hidden[0], rng, config.Layers, batchFirst: true, maxSteps: steps);
        if (config.Bptt > 0) rnn.TruncateBackpropagation = config.Bptt;
        return rnn;
    }
}
