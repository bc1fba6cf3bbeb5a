using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// Recurrent batch normalization (Cooijmans et al. 2016), the baseline the paper contrasts with layer
/// normalization: the input and recurrent summed inputs and the cell state are batch-normalized with
/// statistics of their own for every time step. Evaluation uses per-step population statistics: running
/// averages collected in training, which <see cref="PopulationStatistics.Reestimate"/> (or
/// <see cref="RecurrentLayer.ReestimatePopulationStatistics"/>) replaces by the statistics of a pass over training
/// data with the final weights, as Cooijmans et al. do. A sequence longer than any seen reuses the last step's statistics.
/// </summary>
public sealed class BnLstmCell : Module, ISequenceCell, IPopulationStatistics
{
    // The three batch normalizations of a step: the input projection, the recurrent projection, the cell state.
    private const int Ih = 0, Hh = 1, C = 2;
    private readonly Tensor[][] _mean, _var;
    private readonly Tensor _stepsSeen;
    private StepStatisticsEstimate[]? _estimate;

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

    /// <summary>Time steps with statistics so far, from training or a population-statistics pass (evaluation beyond them reuses the last).</summary>
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
        _mean = [Make(4 * hiddenSize, 0f), Make(4 * hiddenSize, 0f), Make(hiddenSize, 0f)];
        _var = [Make(4 * hiddenSize, 1f), Make(4 * hiddenSize, 1f), Make(hiddenSize, 1f)];
        _stepsSeen = RegisterBuffer("steps_seen", Tensor.Zeros(1));
        for (int t = 0; t < maxSteps; t++)
        {
            RegisterBufferItem("running_ih_mean", t, _mean[Ih][t]);
            RegisterBufferItem("running_ih_var", t, _var[Ih][t]);
            RegisterBufferItem("running_hh_mean", t, _mean[Hh][t]);
            RegisterBufferItem("running_hh_var", t, _var[Hh][t]);
            RegisterBufferItem("running_c_mean", t, _mean[C][t]);
            RegisterBufferItem("running_c_var", t, _var[C][t]);
        }
    }

    /// <inheritdoc />
    public Variable ProjectInputs(Variable inputs) => F.Linear(inputs, WeightIh);

    /// <inheritdoc />
    public Variable Step(Variable projected, Variable state, int t)
    {
        var h = RecurrentState.Hidden(this, state);
        var c = RecurrentState.Cell(state);
        var estimate = _estimate;
        int s;
        if (IsTraining || estimate is not null)
        {
            if (t >= MaxSteps)
                throw new InvalidValueException("t", $"BnLstm: {(estimate is null ? "training" : "estimating population statistics at")} step {t} needs statistics beyond the {MaxSteps} time steps this cell was built for.");
            s = t;
            if (estimate is null && t + 1 > StepsSeen) _stepsSeen[0] = t + 1;
        }
        else s = Math.Min(t, Math.Max(StepsSeen, 1) - 1);
        Variable Norm(int which, Variable x, Variable weight, Variable? bias) => estimate is not null
            ? estimate[which].Normalize(x, weight, bias, s)
            : F.BatchNorm(x, weight, bias, _mean[which][s], _var[which][s], IsTraining, Momentum);
        var fromInput = Norm(Ih, projected, BnIhWeight, null);
        var fromState = Norm(Hh, F.Linear(h, WeightHh), BnHhWeight, null);
        var gates = F.Add(F.Add(fromInput, fromState), Bias);
        var (hNext, cNext) = LstmGates.Apply(gates, c, HiddenSize, cn => Norm(C, cn, BnCWeight, BnCBias));
        return RecurrentState.Stack(hNext, cNext);
    }

    /// <summary>While statistics are being estimated the steps run one at a time, through <see cref="Step"/>.</summary>
    bool ISequenceCell.RunsAsSequence => _estimate is null;

    RecurrentSequence ISequenceCell.RunSequence(Variable input, Variable? h0, Variable? c0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, int firstStep)
    {
        if (reverse) throw new InvalidValueException(nameof(reverse), "BnLstm: per-time-step statistics follow the forward direction; the cell does not run in reverse.");
        int steps = input.Value.Rank == 3 ? input.Value.Dim(batchFirst ? 1 : 0) : 0;
        if (IsTraining)
        {
            if (firstStep + steps > MaxSteps)
                throw new InvalidValueException("t", $"BnLstm: training step {Math.Max(firstStep, MaxSteps)} needs statistics beyond the {MaxSteps} time steps this cell was built for.");
            if (firstStep + steps > StepsSeen) _stepsSeen[0] = firstStep + steps;
        }
        var bn = _sequenceNorms;
        if (bn is null || bn.Training != IsTraining || bn.StatisticsSteps != StepsSeen)
            _sequenceNorms = bn = new F.BnLstmNorms(BnIhWeight, BnHhWeight, BnCWeight, BnCBias, _mean, _var, StepsSeen, IsTraining, Momentum);
        return F.BnLstmSequence(input, WeightIh, WeightHh, Bias, bn, h0, c0, firstStep, batchFirst, allOutputs, norms);
    }

    /// <summary>The normalizations as the fused sequence takes them, kept while the mode and the steps seen stay the same.</summary>
    private F.BnLstmNorms? _sequenceNorms;

    /// <inheritdoc />
    void IPopulationStatistics.BeginPopulationEstimate(PopulationVariance variance) =>
        _estimate = [new StepStatisticsEstimate(4 * HiddenSize, MaxSteps, variance), new StepStatisticsEstimate(4 * HiddenSize, MaxSteps, variance), new StepStatisticsEstimate(HiddenSize, MaxSteps, variance)];

    /// <inheritdoc />
    void IPopulationStatistics.EndPopulationEstimate(bool apply)
    {
        var estimate = _estimate;
        _estimate = null;
        if (!apply || estimate is null) return;
        int reached = 0;
        for (int which = 0; which < estimate.Length; which++) reached = Math.Max(reached, estimate[which].Apply(_mean[which], _var[which]));
        // Steps the pass reached now have statistics even if training never ran that long.
        if (reached > StepsSeen) _stepsSeen[0] = reached;
    }

    /// <summary>One step from a zero state: <paramref name="input"/> is [B, I]; returns h [B, H]. Sequences run through <see cref="RecurrentLayer"/>.</summary>
    public override Variable Forward(Variable input) => RecurrentState.SingleStep(this, input);
}
