using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// The LSTM cell in PyTorch's convention (gate order i, f, g, o): gates = W_ih x + b_ih + W_hh h + b_hh,
/// c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c').
/// </summary>
public sealed class LstmCell : Module, ISequenceCell
{
    /// <summary>[4H, I].</summary>
    public Variable WeightIh { get; }
    /// <summary>[4H, H].</summary>
    public Variable WeightHh { get; }
    /// <summary>[4H].</summary>
    public Variable BiasIh { get; }
    /// <summary>[4H].</summary>
    public Variable BiasHh { get; }

    /// <inheritdoc />
    public int HiddenSize { get; }
    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public bool HasCellState => true;

    /// <summary>Creates the cell; <paramref name="forgetBias"/> is added to the forget gate's part of b_ih (0 = PyTorch's default).</summary>
    public LstmCell(int inputSize, int hiddenSize, Rng rng, float forgetBias = 0f)
    {
        CellParameters.CheckSizes("Lstm", inputSize, hiddenSize);
        (InputSize, HiddenSize) = (inputSize, hiddenSize);
        WeightIh = CellParameters.Uniform(rng, hiddenSize, "weight_ih", 4 * hiddenSize, inputSize);
        WeightHh = CellParameters.Uniform(rng, hiddenSize, "weight_hh", 4 * hiddenSize, hiddenSize);
        BiasIh = CellParameters.Uniform(rng, hiddenSize, "bias_ih", 4 * hiddenSize);
        BiasHh = CellParameters.Uniform(rng, hiddenSize, "bias_hh", 4 * hiddenSize);
        if (forgetBias != 0f) CellParameters.SetForgetBias(BiasIh, hiddenSize, forgetBias);
    }

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh, BiasIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable state, int t) => F.LstmStep(projected, state, WeightHh, BiasHh);

    RecurrentSequence ISequenceCell.RunSequence(Variable input, Variable? h0, Variable? c0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, int firstStep) =>
        F.LstmSequenceWithNorms(input, WeightIh, BiasIh, WeightHh, BiasHh, h0, c0, null, reverse, batchFirst, allOutputs, norms);

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}

/// <summary>The gate arithmetic shared by the LSTM variants.</summary>
internal static class LstmGates
{
    /// <summary>From pre-activations [B, 4H] (i, f, g, o) and c: c' and h' = σ(o)·tanh(norm(c')), composed from single operations.</summary>
    public static (Variable H, Variable C) Apply(Variable gates, Variable c, int hidden, Func<Variable, Variable>? cellNorm)
    {
        var i = F.Sigmoid(F.SliceColumns(gates, 0, hidden));
        var f = F.Sigmoid(F.SliceColumns(gates, hidden, hidden));
        var g = F.Tanh(F.SliceColumns(gates, 2 * hidden, hidden));
        var o = F.Sigmoid(F.SliceColumns(gates, 3 * hidden, hidden));
        var cNext = F.Add(F.Mul(f, c), F.Mul(i, g));
        var hNext = F.Mul(o, F.Tanh(cellNorm is null ? cNext : cellNorm(cNext)));
        return (hNext, cNext);
    }
}
