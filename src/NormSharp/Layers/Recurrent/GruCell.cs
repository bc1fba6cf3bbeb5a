using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// The GRU cell in PyTorch's convention (gate order r, z, n): r = σ(x_r + h_r), z = σ(x_z + h_z),
/// n = tanh(x_n + r·h_n) with x = W_ih x + b_ih and h = W_hh h + b_hh; h' = (1 − z)·n + z·h.
/// </summary>
public sealed class GruCell : Module, ISequenceCell
{
    /// <summary>[3H, I].</summary>
    public Variable WeightIh { get; }
    /// <summary>[3H, H].</summary>
    public Variable WeightHh { get; }
    /// <summary>[3H].</summary>
    public Variable BiasIh { get; }
    /// <summary>[3H].</summary>
    public Variable BiasHh { get; }

    /// <inheritdoc />
    public int HiddenSize { get; }
    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public bool HasCellState => false;

    /// <summary>Creates the cell.</summary>
    public GruCell(int inputSize, int hiddenSize, Rng rng)
    {
        CellParameters.CheckSizes("Gru", inputSize, hiddenSize);
        (InputSize, HiddenSize) = (inputSize, hiddenSize);
        WeightIh = CellParameters.Uniform(rng, hiddenSize, "weight_ih", 3 * hiddenSize, inputSize);
        WeightHh = CellParameters.Uniform(rng, hiddenSize, "weight_hh", 3 * hiddenSize, hiddenSize);
        BiasIh = CellParameters.Uniform(rng, hiddenSize, "bias_ih", 3 * hiddenSize);
        BiasHh = CellParameters.Uniform(rng, hiddenSize, "bias_hh", 3 * hiddenSize);
    }

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh, BiasIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable h, int t) => F.GruStep(projected, h, WeightHh, BiasHh);

    RecurrentSequence ISequenceCell.RunSequence(Variable input, Variable? h0, Variable? c0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, int firstStep) =>
        F.GruSequenceWithNorms(input, WeightIh, BiasIh, WeightHh, BiasHh, h0, null, reverse, batchFirst, allOutputs, norms);

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}
