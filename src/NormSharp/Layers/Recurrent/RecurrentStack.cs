using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>What a <see cref="RecurrentStack"/> returns, as PyTorch's recurrent modules do.</summary>
/// <param name="Output">The top layer's h at every time step: [T, B, D·H] (or [B, T, D·H] batch-first), the forward direction's half first.</param>
/// <param name="Hn">The final hidden state of every layer and direction, [layers·D, B, H] (layer-major, forward before reverse).</param>
/// <param name="Cn">The final cell state in the same layout (LSTMs), else null.</param>
public sealed record RecurrentStackOutput(Variable Output, Variable Hn, Variable? Cn);

/// <summary>
/// The multi-layer, optionally bidirectional recurrent modules in PyTorch's layout (<see cref="Lstm"/>, <see cref="Gru"/>,
/// <see cref="Rnn"/>, mirroring <c>nn.LSTM</c>, <c>nn.GRU</c> and <c>nn.RNN</c>): parameters named <c>weight_ih_l0</c>,
/// <c>weight_hh_l0</c>, <c>bias_ih_l0</c>, <c>bias_hh_l0</c>, …, <c>…_l0_reverse</c>, initialized U(−1/√H, 1/√H), so a
/// PyTorch state dict loads strictly and a saved one loads back into PyTorch. Every layer and direction runs as one
/// fused sequence node; the reverse direction runs the same node from the last time step to the first. Dropout (when
/// set) applies to every layer's output but the last, in training only.
/// </summary>
public abstract class RecurrentStack : Module
{
    private readonly Variable[] _weightIh, _weightHh;
    private readonly Variable?[] _biasIh, _biasHh;
    private readonly Dropout? _dropout;
    private readonly string _kind;

    /// <summary>Features of the input at each time step.</summary>
    public int InputSize { get; }

    /// <summary>Width of the hidden state.</summary>
    public int HiddenSize { get; }

    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether the layers have the biases b_ih and b_hh.</summary>
    public bool Bias { get; }

    /// <summary>Whether input and output are [B, T, ...] rather than [T, B, ...] (the states stay [layers·D, B, H]).</summary>
    public bool BatchFirst { get; }

    /// <summary>Whether every layer also runs from the last time step to the first, its output concatenated after the forward one.</summary>
    public bool Bidirectional { get; }

    /// <summary>Dropout probability on the outputs of every layer but the last (training only).</summary>
    public float DropoutProbability { get; }

    /// <summary>Directions per layer: 2 when bidirectional, else 1.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    private protected RecurrentStack(string kind, int gateBlocks, int inputSize, int hiddenSize, Rng rng, int numLayers, bool bias, bool batchFirst, float dropout, bool bidirectional)
    {
        ArgumentNullException.ThrowIfNull(rng);
        _kind = kind;
        CellParameters.CheckSizes(kind, inputSize, hiddenSize);
        if (numLayers <= 0) throw new InvalidValueException(nameof(numLayers), $"{kind}: num_layers must be positive, got {numLayers}.");
        if (!(dropout >= 0f && dropout <= 1f)) throw new InvalidValueException(nameof(dropout), $"{kind}: dropout must be in [0, 1], got {dropout}.");
        (InputSize, HiddenSize, NumLayers, Bias, BatchFirst, Bidirectional, DropoutProbability) = (inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, dropout);
        int n = numLayers * Directions, g = gateBlocks * hiddenSize;
        (_weightIh, _weightHh, _biasIh, _biasHh) = (new Variable[n], new Variable[n], new Variable?[n], new Variable?[n]);
        for (int l = 0; l < numLayers; l++)
            for (int d = 0; d < Directions; d++)
            {
                int i = l * Directions + d, features = l == 0 ? inputSize : Directions * hiddenSize;
                string suffix = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                // PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh of each layer and direction.
                _weightIh[i] = RegisterParameter("weight_ih" + suffix, CellParameters.Uniform(rng, hiddenSize, "weight_ih" + suffix, g, features));
                _weightHh[i] = RegisterParameter("weight_hh" + suffix, CellParameters.Uniform(rng, hiddenSize, "weight_hh" + suffix, g, hiddenSize));
                if (!bias) continue;
                _biasIh[i] = RegisterParameter("bias_ih" + suffix, CellParameters.Uniform(rng, hiddenSize, "bias_ih" + suffix, g));
                _biasHh[i] = RegisterParameter("bias_hh" + suffix, CellParameters.Uniform(rng, hiddenSize, "bias_hh" + suffix, g));
            }
        if (dropout > 0f && numLayers > 1) _dropout = RegisterModule("dropout", new Dropout(dropout, new Rng(rng.NextUInt64())));
    }

    /// <summary>Whether the cell carries a cell state (LSTMs).</summary>
    private protected abstract bool HasCellState { get; }

    /// <summary>Runs one layer in one direction over <paramref name="input"/> as one fused sequence node.</summary>
    private protected abstract RecurrentSequence RunDirection(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, Variable? c0, bool reverse, bool batchFirst);

    /// <summary>The output at every time step (see <see cref="Run"/>).</summary>
    public override Variable Forward(Variable input) => Run(input).Output;

    /// <summary>
    /// Runs the stack over <paramref name="input"/>: [T, B, I] ([B, T, I] with <see cref="BatchFirst"/>), or [T, I] for one
    /// unbatched sequence. <paramref name="h0"/> (and for LSTMs <paramref name="c0"/>) hold every layer's and direction's initial
    /// state, [layers·D, B, H] ([layers·D, H] unbatched); zeros when null.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input or a state has the wrong shape.</exception>
    public RecurrentStackOutput Run(Variable input, Variable? h0 = null, Variable? c0 = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        string given = ShapeMismatchException.Format(input.Shape);
        if (!HasCellState && c0 is not null) throw new InvalidValueException(nameof(c0), $"{_kind}: the cell has no cell state; pass h0 only.");
        bool unbatched = input.Value.Rank == 2;
        if (unbatched)
        {
            input = F.Unsqueeze(input, BatchFirst ? 0 : 1);
            h0 = h0 is null ? null : F.Unsqueeze(h0, 1);
            c0 = c0 is null ? null : F.Unsqueeze(c0, 1);
        }
        if (input.Value.Rank != 3 || input.Value.Dim(2) != InputSize)
            throw new ShapeMismatchException($"{_kind}: the input must be {(BatchFirst ? "[B, T, " : "[T, B, ")}{InputSize}] or [T, {InputSize}], got {given}.");
        int batch = input.Value.Dim(BatchFirst ? 0 : 1);
        CheckState("h0", h0, batch);
        CheckState("c0", c0, batch);

        int directions = Directions, n = NumLayers * directions;
        var hn = new Variable[n];
        var cn = HasCellState ? new Variable[n] : null;
        var outs = new Variable[directions];
        Variable layerInput = input;
        bool layerBatchFirst = BatchFirst;
        for (int l = 0; l < NumLayers; l++)
        {
            for (int d = 0; d < directions; d++)
            {
                int i = l * directions + d;
                var sequence = RunDirection(layerInput, _weightIh[i], _biasIh[i], _weightHh[i], _biasHh[i], StateOf(h0, i, batch), StateOf(c0, i, batch),
                    reverse: d == 1, batchFirst: layerBatchFirst);
                outs[d] = sequence.Outputs();
                hn[i] = sequence.FinalHidden();
                if (cn is not null) cn[i] = sequence.FinalCell();
            }
            // [T, B, D·H], the forward direction's half first; the next layer reads it time-first.
            layerInput = directions == 1 ? outs[0] : F.Cat(outs, 2);
            layerBatchFirst = false;
            if (_dropout is not null && l + 1 < NumLayers) layerInput = _dropout.Forward(layerInput);
        }
        var output = BatchFirst ? F.SwapFirstTwoDims(layerInput) : layerInput;
        var hState = F.Stack(hn, 0);
        var cState = cn is null ? null : F.Stack(cn, 0);
        if (unbatched)
        {
            output = F.Squeeze(output, BatchFirst ? 0 : 1);
            hState = F.Squeeze(hState, 1);
            cState = cState is null ? null : F.Squeeze(cState, 1);
        }
        return new RecurrentStackOutput(output, hState, cState);
    }

    private void CheckState(string name, Variable? state, int batch)
    {
        if (state is not null && !state.Shape.SequenceEqual([NumLayers * Directions, batch, HiddenSize]))
            throw new ShapeMismatchException($"{_kind}: {name} must be [{NumLayers * Directions}, {batch}, {HiddenSize}] (layers·directions, batch, hidden), got {ShapeMismatchException.Format(state.Shape)}.");
    }

    private Variable? StateOf(Variable? state, int index, int batch) =>
        state is null ? null : F.Reshape(F.NarrowRows(state, index, 1), batch, HiddenSize);

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"{InputSize}, {HiddenSize}, num_layers={NumLayers}, bias={Repr.Bool(Bias)}, batch_first={Repr.Bool(BatchFirst)}, dropout={DropoutProbability.ToString(System.Globalization.CultureInfo.InvariantCulture)}, bidirectional={Repr.Bool(Bidirectional)}";
}
