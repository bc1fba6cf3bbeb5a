using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes.Tasks;

/// <summary>
/// The copy-memory task (Hochreiter &amp; Schmidhuber 1997, as in Arjovsky et al. 2016): ten symbols from
/// {1..8}, then a delay of blanks (0), then a delimiter (9) and ten more blanks during which the model must
/// repeat the ten symbols. Inputs are one-hot over 10 symbols; the loss is the cross-entropy at every step;
/// accuracy counts the recalled symbols. Always guessing blanks then random symbols scores a loss of
/// 10·ln 8/(T + 20).
/// </summary>
public sealed class CopyMemoryTask : SyntheticSequenceTask
{
    /// <summary>Symbols to remember.</summary>
    public const int Recall = 10;

    /// <summary>Input and output alphabet size (blank, 8 symbols, delimiter).</summary>
    public const int Symbols = 10;

    private readonly int[] _trainTargets;
    private readonly int[] _testTargets;
    private readonly int[] _batchLabels;

    /// <summary>Generates the sequences with a delay of <see cref="TrainingConfig.SequenceLength"/> steps.</summary>
    public CopyMemoryTask(TrainingConfig config) : base(config, config.SequenceLength + 2 * Recall, Symbols, TrainSize(config), 1000)
    {
        if (config.Bptt > 0) throw new InvalidValueException(nameof(config.Bptt), "the copy task scores every step, so truncated backpropagation (Bptt, which keeps the last state only) does not apply to it");
        _trainTargets = Generate(TrainInputs, new Rng(config.Seed ^ 0xC0B1UL));
        _testTargets = Generate(TestInputs, new Rng(0xC0B2UL));
        _batchLabels = new int[config.BatchSize * Steps];
    }

    private static int TrainSize(TrainingConfig c) => c.TrainLimit > 0 ? c.TrainLimit : 10_000;

    /// <inheritdoc />
    public override string Name => "copy";

    private int[] Generate(Tensor inputs, Rng rng)
    {
        int n = inputs.Dim(0), t = Steps;
        var targets = new int[n * t];
        var x = inputs.Span;
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * t * Symbols, t * Symbols);
            for (int s = 0; s < t; s++)
            {
                int symbol = s < Recall ? 1 + rng.NextInt(8) : s == t - Recall - 1 ? 9 : 0;
                row[s * Symbols + symbol] = 1f;
                if (s < Recall) targets[i * t + t - Recall + s] = symbol;
            }
        }
        return targets;
    }

    /// <inheritdoc />
    /// <remarks>Blanks guessed right and the ten symbols guessed among eight, averaged over every step.</remarks>
    public override double ChanceLoss => Recall * Math.Log(8) / Steps;

    /// <inheritdoc />
    public override MemoryEstimate EstimateMemory(TrainingConfig config) => MemoryEstimate.Of(config, Symbols, Steps, Symbols, EvaluationSamples(config));

    /// <inheritdoc />
    public override Module BuildModel(TrainingConfig config, Rng rng) =>
        MatchedRecurrentInit.Build(config, rng, (cell, r) => new SequenceTagger(BuildRecurrent(config with { Cell = cell }, Symbols, Steps, r), Steps, Symbols, Symbols, r));

    /// <inheritdoc />
    public override StepLoss Loss(Module model, LabeledBatch batch)
    {
        var idx = batch.Labels;
        var labels = _batchLabels.AsSpan(0, idx.Length * Steps);
        for (int i = 0; i < idx.Length; i++) _trainTargets.AsSpan(idx[i] * Steps, Steps).CopyTo(labels.Slice(i * Steps, Steps));
        var logits = model.Forward(Variable.Constant(batch.Inputs));
        var (correct, scored) = CountRecalled(logits.Value.Span, labels, idx.Length);
        return new StepLoss(F.CrossEntropy(logits, labels), idx.Length, correct, scored);
    }

    /// <inheritdoc />
    public override EvaluationResult Evaluate(Module model) =>
        EvaluateInBatches(model, (inputs, start, count) =>
        {
            var logits = model.Forward(Variable.Constant(inputs));
            var labels = _testTargets.AsSpan(start * Steps, count * Steps);
            var (c, s) = CountRecalled(logits.Value.Span, labels, count);
            return (F.CrossEntropy(logits, labels).Item() * count, c, s);
        });

    private (int Correct, int Scored) CountRecalled(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int count)
    {
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            int first = i * Steps + Steps - Recall;
            correct += LossKernels.CountCorrect(logits.Slice(first * Symbols, Recall * Symbols), labels.Slice(first, Recall), Recall, Symbols);
        }
        return (correct, count * Recall);
    }
}

/// <summary>Reads [B, T·F] inputs as sequences and classifies every step: logits [B·T, classes]. Children: <c>rnn</c>, <c>head</c>.</summary>
public sealed class SequenceTagger : Module, ISequenceModel
{
    /// <summary>Creates the model around <paramref name="rnn"/> (batch-first).</summary>
    public SequenceTagger(RecurrentLayer rnn, int steps, int stepWidth, int classes, Rng rng)
    {
        Rnn = rnn;
        (Steps, StepWidth) = (steps, stepWidth);
        Head = new Linear(rnn.HiddenSize, classes, rng);
    }

    /// <inheritdoc />
    public RecurrentLayer Rnn { get; }

    /// <summary>The per-step output layer.</summary>
    public Linear Head { get; }

    /// <inheritdoc />
    public int Steps { get; }

    /// <summary>Inputs per step.</summary>
    public int StepWidth { get; }

    /// <inheritdoc />
    public override Variable Forward(Variable input)
    {
        int batch = input.Value.Dim(0);
        var outputs = Rnn.Run(F.Reshape(input, batch, Steps, StepWidth)).Outputs!;
        return Head.Forward(F.Reshape(outputs, batch * Steps, Rnn.HiddenSize));
    }
}
