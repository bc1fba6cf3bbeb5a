using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// Recurrent batch normalization (Cooijmans et al. 2016), the baseline the paper contrasts with layer
/// normalization: the input and recurrent summed inputs and the cell state are batch-normalized with
/// statistics of their own for every time step. Evaluation uses per-step running statistics, and a
/// sequence longer than any seen in training reuses the last trained step's statistics.
/// </summary>
public sealed class BnLstmCell : Module, IRecurrentCell
{
    private readonly Tensor[] _ihMean, _ihVar, _hhMean, _hhVar, _cMean, _cVar;
    private readonly Tensor _stepsSeen;

    /// <summary>[4H, I].</summary>
    public Variable WeightIh { get; }
    /// <summary>[4H, H].</summary>
    public Variable WeightHh { get; }
    /// <summary>[4H].</summary>
    public Variable Bias { get; }
    /// <summary>Gain of the input projection's batch norm, [4H] (starts at 0.1, as Cooijmans et al. recommend).</summary>
    public Variable BnIhWeight { get; }
    /// <summary>Gain of the recurrent projection's batch norm, [4H].</summary>
    public Variable BnHhWeight { get; }
    /// <summary>Gain of the cell state's batch norm, [H].</summary>
    public Variable BnCWeight { get; }
    /// <summary>Shift of the cell state's batch norm, [H].</summary>
    public Variable BnCBias { get; }

    /// <summary>Time steps with their own statistics.</summary>
    public int MaxSteps { get; }

    /// <summary>Time steps seen in training so far (evaluation beyond them reuses the last).</summary>
    public int StepsSeen => (int)_stepsSeen[0];

    /// <summary>Momentum of the running statistics.</summary>
    public float Momentum { get; }

    /// <inheritdoc />
    public int HiddenSize { get; }
    /// <inheritdoc />
    public int InputSize { get; }
    /// <inheritdoc />
    public bool HasCellState => true;

    /// <summary>Creates the cell with statistics for up to <paramref name="maxSteps"/> time steps.</summary>
    public BnLstmCell(int inputSize, int hiddenSize, Rng rng, int maxSteps, float forgetBias = 0f, float momentum = 0.1f)
    {
        CellParameters.CheckSizes("BnLstm", inputSize, hiddenSize);
        if (maxSteps <= 0) throw new InvalidValueException(nameof(maxSteps), $"BnLstm: max steps must be positive, got {maxSteps}.");
        (InputSize, HiddenSize, MaxSteps, Momentum) = (inputSize, hiddenSize, maxSteps, momentum);
        WeightIh = CellParameters.Uniform(rng, hiddenSize, "weight_ih", 4 * hiddenSize, inputSize);
        WeightHh = CellParameters.Uniform(rng, hiddenSize, "weight_hh", 4 * hiddenSize, hiddenSize);
        Bias = CellParameters.Fill(0f, "bias", 4 * hiddenSize);
        if (forgetBias != 0f) CellParameters.SetForgetBias(Bias, hiddenSize, forgetBias);
        BnIhWeight = CellParameters.Fill(0.1f, "bn_ih_weight", 4 * hiddenSize);
        BnHhWeight = CellParameters.Fill(0.1f, "bn_hh_weight", 4 * hiddenSize);
        BnCWeight = CellParameters.Fill(0.1f, "bn_c_weight", hiddenSize);
        BnCBias = CellParameters.Fill(0f, "bn_c_bias", hiddenSize);
        Tensor[] Make(int width, float value) => Enumerable.Range(0, maxSteps).Select(_ => Tensor.Full(value, width)).ToArray();
        (_ihMean, _ihVar) = (Make(4 * hiddenSize, 0f), Make(4 * hiddenSize, 1f));
        (_hhMean, _hhVar) = (Make(4 * hiddenSize, 0f), Make(4 * hiddenSize, 1f));
        (_cMean, _cVar) = (Make(hiddenSize, 0f), Make(hiddenSize, 1f));
        _stepsSeen = RegisterBuffer("steps_seen", Tensor.Zeros(1));
        for (int t = 0; t < maxSteps; t++)
        {
            RegisterBufferItem("running_ih_mean", t, _ihMean[t]);
            RegisterBufferItem("running_ih_var", t, _ihVar[t]);
            RegisterBufferItem("running_hh_mean", t, _hhMean[t]);
            RegisterBufferItem("running_hh_var", t, _hhVar[t]);
            RegisterBufferItem("running_c_mean", t, _cMean[t]);
            RegisterBufferItem("running_c_var", t, _cVar[t]);
        }
    }

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable state, int t)
    {
        var h = RecurrentState.Hidden(this, state);
        var c = RecurrentState.Cell(state);
        int s;
        if (IsTraining)
        {
            if (t >= MaxSteps)
                throw new InvalidValueException("t", $"BnLstm: training step {t} needs statistics beyond the {MaxSteps} time steps this cell was built for.");
            s = t;
            if (t + 1 > StepsSeen) _stepsSeen[0] = t + 1;
        }
        else s = Math.Min(t, Math.Max(StepsSeen, 1) - 1);
        bool train = IsTraining;
        var fromInput = F.BatchNorm(projected, BnIhWeight, null, _ihMean[s], _ihVar[s], train, Momentum);
        var fromState = F.BatchNorm(F.Linear(h, WeightHh), BnHhWeight, null, _hhMean[s], _hhVar[s], train, Momentum);
        var gates = F.Add(F.Add(fromInput, fromState), Bias);
        var (hNext, cNext) = LstmGates.Apply(gates, c, HiddenSize, cn => F.BatchNorm(cn, BnCWeight, BnCBias, _cMean[s], _cVar[s], train, Momentum));
        return RecurrentState.Stack(hNext, cNext);
    }

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}
