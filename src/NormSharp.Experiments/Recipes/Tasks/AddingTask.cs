using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes.Tasks;

/// <summary>
/// The adding problem (Hochreiter &amp; Schmidhuber 1997, in the form of Le et al. 2015): each step holds a
/// value drawn from U(0, 1) and a marker; exactly two steps are marked, one in each half, and the target is
/// the sum of their values. Predicting the mean (1) scores a mean squared error of about 0.167; a sequence
/// counts as right when the prediction is within 0.04 of its target.
/// </summary>
public sealed class AddingTask : SyntheticSequenceTask
{
    /// <summary>Predictions this close to the target count as correct.</summary>
    public const float Tolerance = 0.04f;

    private readonly float[] _trainTargets;
    private readonly float[] _testTargets;
    private readonly Tensor _batchTargets;

    /// <summary>Generates the sequences from the configuration's seed.</summary>
    public AddingTask(TrainingConfig config) : base(config, config.SequenceLength, 2, TrainSize(config), 1000)
    {
        _trainTargets = Generate(TrainInputs, new Rng(config.Seed ^ 0xADD1UL));
        _testTargets = Generate(TestInputs, new Rng(0xADD2UL));
        _batchTargets = Tensor.Zeros(config.BatchSize, 1);
    }

    private static int TrainSize(TrainingConfig c) => c.TrainLimit > 0 ? c.TrainLimit : 10_000;

    /// <inheritdoc />
    public override string Name => "adding";

    private float[] Generate(Tensor inputs, Rng rng)
    {
        int n = inputs.Dim(0), t = Steps;
        var targets = new float[n];
        var x = inputs.Span;
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * t * 2, t * 2);
            for (int s = 0; s < t; s++) row[2 * s] = rng.NextFloat();
            int a = rng.NextInt(Math.Max(1, t / 2));
            int b = t / 2 + rng.NextInt(Math.Max(1, t - t / 2));
            row[2 * a + 1] = 1f;
            row[2 * b + 1] = 1f;
            targets[i] = row[2 * a] + row[2 * b];
        }
        return targets;
    }

    /// <inheritdoc />
    /// <remarks>The variance of the sum of two U(0, 1) values: what always predicting its mean (1) scores.</remarks>
    public override double ChanceLoss => 1.0 / 6;

    /// <inheritdoc />
    public override MemoryEstimate EstimateMemory(TrainingConfig config) => MemoryEstimate.Of(config, 2, Steps, 1, EvaluationSamples(config));

    /// <inheritdoc />
    public override Module BuildModel(TrainingConfig config, Rng rng) =>
        MatchedRecurrentInit.Build(config, rng, (cell, r) => new SequenceRegressor(BuildRecurrent(config with { Cell = cell }, 2, Steps, r), Steps, 2, r));

    /// <inheritdoc />
    public override StepLoss Loss(Module model, LabeledBatch batch)
    {
        var idx = batch.Labels;
        var target = idx.Length == _batchTargets.Dim(0) ? _batchTargets : _batchTargets.Narrow(0, idx.Length);
        for (int i = 0; i < idx.Length; i++) target[i] = _trainTargets[idx[i]];
        var prediction = model.Forward(Variable.Constant(batch.Inputs));
        int correct = CountWithin(prediction.Value.Span, target.Span);
        return new StepLoss(F.Mse(prediction, target), idx.Length, correct, idx.Length);
    }

    /// <inheritdoc />
    public override EvaluationResult Evaluate(Module model) =>
        EvaluateInBatches(model, (inputs, start, count) =>
        {
            var prediction = model.Forward(Variable.Constant(inputs));
            var target = Tensor.FromValues(_testTargets.AsSpan(start, count), count, 1);
            return (F.Mse(prediction, target).Item() * count, CountWithin(prediction.Value.Span, target.Span), count);
        });

    private static int CountWithin(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target)
    {
        int c = 0;
        for (int i = 0; i < target.Length; i++) if (Math.Abs(prediction[i] - target[i]) < Tolerance) c++;
        return c;
    }
}

/// <summary>Reads [B, T·F] inputs as sequences and predicts one number from the last hidden state. Children: <c>rnn</c>, <c>head</c>.</summary>
public sealed class SequenceRegressor : Module, ISequenceModel
{
    /// <summary>Creates the model around <paramref name="rnn"/> (batch-first).</summary>
    public SequenceRegressor(RecurrentLayer rnn, int steps, int stepWidth, Rng rng)
    {
        Rnn = rnn;
        (Steps, StepWidth) = (steps, stepWidth);
        Head = new Linear(rnn.HiddenSize, 1, rng);
    }

    /// <inheritdoc />
    public RecurrentLayer Rnn { get; }

    /// <summary>The output layer.</summary>
    public Linear Head { get; }

    /// <inheritdoc />
    public int Steps { get; }

    /// <summary>Inputs per step.</summary>
    public int StepWidth { get; }

    /// <inheritdoc />
    public override Variable Forward(Variable input) =>
        Head.Forward(Rnn.Run(F.Reshape(input, input.Value.Dim(0), Steps, StepWidth), allOutputs: false).Last);
}
