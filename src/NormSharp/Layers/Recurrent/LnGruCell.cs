using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// The layer-normalized GRU of the paper's reference code: W_ih x and W_hh h are each layer-normalized
/// before their biases are added, the reset/update block (first 2H units) and the candidate block (last H)
/// with statistics of their own; then the GRU gates as in <see cref="GruCell"/>.
/// </summary>
public sealed class LnGruCell : Module, ISequenceCell
{
    private readonly F.GruLayerNorm _norms;

    /// <summary>[3H, I].</summary>
    public Variable WeightIh { get; }
    /// <summary>[3H, H].</summary>
    public Variable WeightHh { get; }
    /// <summary>[3H].</summary>
    public Variable BiasIh { get; }
    /// <summary>[3H].</summary>
    public Variable BiasHh { get; }
    /// <summary>Gains of the input projection's two normalizations, [3H] (2H then H).</summary>
    public Variable LnIhWeight { get; }
    /// <summary>Shifts of the input projection's normalizations.</summary>
    public Variable LnIhBias { get; }
    /// <summary>Gains of the recurrent projection's two normalizations, [3H].</summary>
    public Variable LnHhWeight { get; }
    /// <summary>Shifts of the recurrent projection's normalizations.</summary>
    public Variable LnHhBias { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <inheritdoc />
    public int HiddenSize { get; }
    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public bool HasCellState => false;

    /// <summary>Creates the cell.</summary>
    public LnGruCell(int inputSize, int hiddenSize, Rng rng, float eps = 1e-5f)
    {
        CellParameters.CheckSizes("LnGru", inputSize, hiddenSize);
        (InputSize, HiddenSize, Eps) = (inputSize, hiddenSize, eps);
        WeightIh = CellParameters.Uniform(rng, hiddenSize, "weight_ih", 3 * hiddenSize, inputSize);
        WeightHh = CellParameters.Uniform(rng, hiddenSize, "weight_hh", 3 * hiddenSize, hiddenSize);
        BiasIh = CellParameters.Uniform(rng, hiddenSize, "bias_ih", 3 * hiddenSize);
        BiasHh = CellParameters.Uniform(rng, hiddenSize, "bias_hh", 3 * hiddenSize);
        LnIhWeight = CellParameters.Fill(1f, "ln_ih_weight", 3 * hiddenSize);
        LnIhBias = CellParameters.Fill(0f, "ln_ih_bias", 3 * hiddenSize);
        LnHhWeight = CellParameters.Fill(1f, "ln_hh_weight", 3 * hiddenSize);
        LnHhBias = CellParameters.Fill(0f, "ln_hh_bias", 3 * hiddenSize);
        _norms = new F.GruLayerNorm(LnIhWeight, LnIhBias, LnHhWeight, LnHhBias, eps);
    }

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable h, int t) => F.GruStep(projected, h, WeightHh, BiasHh, _norms, BiasIh);

    RecurrentSequence ISequenceCell.RunSequence(Variable input, Variable? h0, Variable? c0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, int firstStep) =>
        F.GruSequenceWithNorms(input, WeightIh, BiasIh, WeightHh, BiasHh, h0, _norms, reverse, batchFirst, allOutputs, norms);

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}
