using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// The GRU cell in PyTorch's convention (gate order r, z, n): r = σ(x_r + h_r), z = σ(x_z + h_z),
/// n = tanh(x_n + r·h_n) with x = W_ih x + b_ih and h = W_hh h + b_hh; h' = (1 − z)·n + z·h.
/// </summary>
public sealed class GruCell : Module, IRecurrentCell
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
    public Variable Step(Variable projected, Variable h, int t) =>
        GruGates.Apply(projected, F.Linear(h, WeightHh, BiasHh), h, HiddenSize);

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}

/// <summary>The gate arithmetic shared by the GRU variants.</summary>
internal static class GruGates
{
    /// <summary>h' from the input part x [B, 3H] and recurrent part hp [B, 3H] (biases included) and h.</summary>
    public static Variable Apply(Variable x, Variable hp, Variable h, int hidden)
    {
        var r = F.Sigmoid(F.Add(F.SliceColumns(x, 0, hidden), F.SliceColumns(hp, 0, hidden)));
        var z = F.Sigmoid(F.Add(F.SliceColumns(x, hidden, hidden), F.SliceColumns(hp, hidden, hidden)));
        var n = F.Tanh(F.Add(F.SliceColumns(x, 2 * hidden, hidden), F.Mul(r, F.SliceColumns(hp, 2 * hidden, hidden))));
        // (1 − z)·n + z·h written as n + z·(h − n): one constant fewer.
        return F.Add(n, F.Mul(z, F.Sub(h, n)));
    }
}
