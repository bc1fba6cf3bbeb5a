using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>The vanilla (Elman) tanh RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh).</summary>
public sealed class RnnCell : Module, ISequenceCell
{
    /// <summary>[H, I].</summary>
    public Variable WeightIh { get; }
    /// <summary>[H, H].</summary>
    public Variable WeightHh { get; }
    /// <summary>[H].</summary>
    public Variable BiasIh { get; }
    /// <summary>[H].</summary>
    public Variable BiasHh { get; }

    /// <inheritdoc />
    public int HiddenSize { get; }
    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public bool HasCellState => false;

    /// <summary>Creates the cell.</summary>
    public RnnCell(int inputSize, int hiddenSize, Rng rng)
    {
        CellParameters.CheckSizes("Rnn", inputSize, hiddenSize);
        (InputSize, HiddenSize) = (inputSize, hiddenSize);
        WeightIh = CellParameters.Uniform(rng, hiddenSize, "weight_ih", hiddenSize, inputSize);
        WeightHh = CellParameters.Uniform(rng, hiddenSize, "weight_hh", hiddenSize, hiddenSize);
        BiasIh = CellParameters.Uniform(rng, hiddenSize, "bias_ih", hiddenSize);
        BiasHh = CellParameters.Uniform(rng, hiddenSize, "bias_hh", hiddenSize);
    }

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh, BiasIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable h, int t) => F.RnnStep(projected, h, WeightHh, BiasHh);

    RecurrentSequence ISequenceCell.RunSequence(Variable input, Variable? h0, Variable? c0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, int firstStep) =>
        F.RnnSequenceWithNorms(input, WeightIh, BiasIh, WeightHh, BiasHh, h0, reverse, batchFirst, allOutputs, norms);

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}
