using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// The layer-normalized GRU of the paper's reference code: W_ih x and W_hh h are each layer-normalized
/// before their biases are added, the reset/update block (first 2H units) and the candidate block (last H)
/// with statistics of their own; then the GRU gates as in <see cref="GruCell"/>.
/// </summary>
public sealed class LnGruCell : Module, IRecurrentCell
{
    private readonly int[] _gateShape;
    private readonly int[] _candidateShape;

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
        _gateShape = [2 * hiddenSize];
        _candidateShape = [hiddenSize];
        WeightIh = CellParameters.Uniform(rng, hiddenSize, "weight_ih", 3 * hiddenSize, inputSize);
        WeightHh = CellParameters.Uniform(rng, hiddenSize, "weight_hh", 3 * hiddenSize, hiddenSize);
        BiasIh = CellParameters.Uniform(rng, hiddenSize, "bias_ih", 3 * hiddenSize);
        BiasHh = CellParameters.Uniform(rng, hiddenSize, "bias_hh", 3 * hiddenSize);
        LnIhWeight = CellParameters.Fill(1f, "ln_ih_weight", 3 * hiddenSize);
        LnIhBias = CellParameters.Fill(0f, "ln_ih_bias", 3 * hiddenSize);
        LnHhWeight = CellParameters.Fill(1f, "ln_hh_weight", 3 * hiddenSize);
        LnHhBias = CellParameters.Fill(0f, "ln_hh_bias", 3 * hiddenSize);
    }

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable h, int t)
    {
        var x = F.Add(NormalizeBlocks(projected, LnIhWeight, LnIhBias), BiasIh);
        var hp = F.Add(NormalizeBlocks(F.Linear(h, WeightHh), LnHhWeight, LnHhBias), BiasHh);
        return GruGates.Apply(x, hp, h, HiddenSize);
    }

    /// <summary>LN over the first 2H columns and, separately, the last H columns of a [B, 3H] projection.</summary>
    private Variable NormalizeBlocks(Variable p, Variable gain, Variable shift)
    {
        int hd = HiddenSize;
        var gates = F.LayerNorm(F.SliceColumns(p, 0, 2 * hd), _gateShape, F.NarrowRows(gain, 0, 2 * hd), F.NarrowRows(shift, 0, 2 * hd), Eps);
        var cand = F.LayerNorm(F.SliceColumns(p, 2 * hd, hd), _candidateShape, F.NarrowRows(gain, 2 * hd, hd), F.NarrowRows(shift, 2 * hd, hd), Eps);
        return ConcatColumns(gates, cand);
    }

    /// <summary>[B, a] and [B, b] side by side as [B, a + b], through a transpose-free row interleave.</summary>
    private static Variable ConcatColumns(Variable left, Variable right)
    {
        // Concatenating along columns equals concatenating the transposed blocks along rows.
        var lt = F.SwapFirstTwoDims(left);
        var rt = F.SwapFirstTwoDims(right);
        return F.SwapFirstTwoDims(F.ConcatRows([lt, rt]));
    }

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}
