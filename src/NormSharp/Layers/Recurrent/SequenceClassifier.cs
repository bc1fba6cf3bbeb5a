using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>How an image becomes a sequence for a <see cref="SequenceClassifier"/>.</summary>
public enum SequenceReading
{
    /// <summary>One row per time step (28 steps of 28 pixels for MNIST).</summary>
    Rows,
    /// <summary>One pixel per time step (784 steps of 1 pixel).</summary>
    Pixels,
    /// <summary>One pixel per time step in a fixed random order (permuted sequential MNIST).</summary>
    PermutedPixels,
}

/// <summary>
/// Classifies flattened images by reading them as sequences: the recurrent layer's last hidden state
/// feeds a linear output layer. Children: <c>rnn</c> and <c>head</c>.
/// </summary>
public sealed class SequenceClassifier : Module, ISequenceModel
{
    private readonly int[]? _permutation;

    /// <summary>The recurrent layer.</summary>
    public RecurrentLayer Rnn { get; }

    /// <summary>The output layer.</summary>
    public Linear Head { get; }

    /// <summary>Time steps per image.</summary>
    public int Steps { get; }

    /// <summary>Inputs per time step.</summary>
    public int StepWidth { get; }

    /// <summary>How images are read.</summary>
    public SequenceReading Reading { get; }

    /// <summary>With <see cref="SequenceReading.PermutedPixels"/>, the input position read at each time step; otherwise null.</summary>
    public IReadOnlyList<int>? Permutation => _permutation is null ? null : Array.AsReadOnly(_permutation);

    /// <summary>Builds the classifier for images of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public SequenceClassifier(CellKind cell, SequenceReading reading, int height, int width, int hidden, int classes, Rng rng, int layers = 1, ulong permutationSeed = 1234)
    {
        Reading = reading;
        (Steps, StepWidth) = reading == SequenceReading.Rows ? (height, width) : (height * width, 1);
        if (reading == SequenceReading.PermutedPixels)
        {
            _permutation = Enumerable.Range(0, height * width).ToArray();
            new Rng(permutationSeed).Shuffle(_permutation.AsSpan());
        }
        Rnn = RegisterModule("rnn", new RecurrentLayer(cell, StepWidth, hidden, rng, layers, batchFirst: true, maxSteps: Steps));
        Head = RegisterModule("head", new Linear(hidden, classes, rng));
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input)
    {
        if (input.Value.Rank != 2 || input.Value.Dim(1) != Steps * StepWidth)
            throw new ShapeMismatchException($"SequenceClassifier: input must be [B, {Steps * StepWidth}], got {ShapeMismatchException.Format(input.Shape)}.");
        int batch = input.Value.Dim(0);
        var x = input;
        if (_permutation is not null)
        {
            if (input.RequiresGrad) throw new NormSharpException("SequenceClassifier: permuted reading expects a constant input.");
            var permuted = Tensor.Zeros(batch, Steps);
            var src = input.Value.Span;
            var dst = permuted.Span;
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < Steps; i++) dst[b * Steps + i] = src[b * Steps + _permutation[i]];
            x = Variable.Constant(permuted);
        }
        var seq = F.Reshape(x, batch, Steps, StepWidth);
        var last = Rnn.Run(seq, allOutputs: false).Last;
        return Head.Forward(last);
    }

    /// <summary>A short description, e.g. <c>rnn-ln-lstm-128x1</c>.</summary>
    public string Describe() => $"rnn-{CellKinds.Name(Rnn.Kind)}-{Rnn.HiddenSize}x{Rnn.Cells.Count}";
}
