using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// The layer-normalized LSTM of Ba et al. (2016): the input and recurrent summed inputs are normalized
/// separately over all 4H units, with statistics per sample and per time step, and the cell state is
/// normalized before its tanh: gates = LN(W_ih x; ln_ih) + LN(W_hh h; ln_hh) + b,
/// c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(LN(c'; ln_c)).
/// </summary>
public sealed class LnLstmCell : Module, ISequenceCell
{

    /// <summary>[4H, I].</summary>
    public Variable WeightIh { get; }
    /// <summary>[4H, H].</summary>
    public Variable WeightHh { get; }
    /// <summary>[4H].</summary>
    public Variable Bias { get; }
    /// <summary>Gain and shift of the input projection's normalization, [4H] each.</summary>
    public Variable LnIhWeight { get; }
    /// <summary>Shift of the input projection's normalization.</summary>
    public Variable LnIhBias { get; }
    /// <summary>Gain of the recurrent projection's normalization, [4H].</summary>
    public Variable LnHhWeight { get; }
    /// <summary>Shift of the recurrent projection's normalization.</summary>
    public Variable LnHhBias { get; }
    /// <summary>Gain of the cell-state normalization, [H].</summary>
    public Variable LnCWeight { get; }
    /// <summary>Shift of the cell-state normalization.</summary>
    public Variable LnCBias { get; }

    /// <summary>Added to the variance in every normalization.</summary>
    public float Eps { get; }

    /// <inheritdoc />
    public int HiddenSize { get; }
    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public bool HasCellState => true;

    /// <summary>Creates the cell; <paramref name="forgetBias"/> initializes the forget block of the bias.</summary>
    public LnLstmCell(int inputSize, int hiddenSize, Rng rng, float forgetBias = 0f, float eps = 1e-5f)
    {
        CellParameters.CheckSizes("LnLstm", inputSize, hiddenSize);
        (InputSize, HiddenSize, Eps) = (inputSize, hiddenSize, eps);
        WeightIh = CellParameters.Uniform(rng, hiddenSize, "weight_ih", 4 * hiddenSize, inputSize);
        WeightHh = CellParameters.Uniform(rng, hiddenSize, "weight_hh", 4 * hiddenSize, hiddenSize);
        Bias = CellParameters.Fill(0f, "bias", 4 * hiddenSize);
        if (forgetBias != 0f) CellParameters.SetForgetBias(Bias, hiddenSize, forgetBias);
        LnIhWeight = CellParameters.Fill(1f, "ln_ih_weight", 4 * hiddenSize);
        LnIhBias = CellParameters.Fill(0f, "ln_ih_bias", 4 * hiddenSize);
        LnHhWeight = CellParameters.Fill(1f, "ln_hh_weight", 4 * hiddenSize);
        LnHhBias = CellParameters.Fill(0f, "ln_hh_bias", 4 * hiddenSize);
        LnCWeight = CellParameters.Fill(1f, "ln_c_weight", hiddenSize);
        LnCBias = CellParameters.Fill(0f, "ln_c_bias", hiddenSize);
        _norms = new F.LstmLayerNorm(LnIhWeight, LnIhBias, LnHhWeight, LnHhBias, LnCWeight, LnCBias, eps);
    }

    private readonly F.LstmLayerNorm _norms;

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable state, int t) => F.LstmStep(projected, state, WeightHh, Bias, _norms);

    RecurrentSequence ISequenceCell.RunSequence(Variable input, Variable? h0, Variable? c0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, int firstStep) =>
        F.LstmSequenceWithNorms(input, WeightIh, null, WeightHh, Bias, h0, c0, _norms, reverse, batchFirst, allOutputs, norms);

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}
