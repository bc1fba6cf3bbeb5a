using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>Which recurrent cell a <see cref="RecurrentLayer"/> stacks.</summary>
public enum CellKind
{
    /// <summary>Vanilla tanh RNN.</summary>
    Rnn,
    /// <summary>LSTM.</summary>
    Lstm,
    /// <summary>Layer-normalized LSTM (Ba et al. 2016).</summary>
    LnLstm,
    /// <summary>Batch-normalized LSTM (Cooijmans et al. 2016), per-time-step statistics.</summary>
    BnLstm,
    /// <summary>GRU.</summary>
    Gru,
    /// <summary>Layer-normalized GRU.</summary>
    LnGru,
}

/// <summary>Parsing and printing of <see cref="CellKind"/> with the CLI's spelling.</summary>
public static class CellKinds
{
    /// <summary>rnn, lstm, ln-lstm, bn-lstm, gru, ln-gru.</summary>
    public static readonly string[] Names = ["rnn", "lstm", "ln-lstm", "bn-lstm", "gru", "ln-gru"];

    /// <summary>The CLI spelling.</summary>
    public static string Name(CellKind kind) => Names[(int)kind];

    /// <summary>Parses a CLI spelling.</summary>
    public static CellKind Parse(string name)
    {
        int i = Array.IndexOf(Names, name);
        return i < 0 ? throw new InvalidValueException("cell", $"unknown cell '{name}' (expected one of {string.Join("|", Names)})") : (CellKind)i;
    }
}

/// <summary>The result of running a recurrent layer over a sequence.</summary>
/// <param name="Outputs">The top layer's h at every step, [T, B, H] (or [B, T, H] batch-first), or null when only the last was asked for.</param>
/// <param name="Last">The top layer's h at the last step, [B, H].</param>
/// <param name="FinalH">Every layer's last h.</param>
/// <param name="FinalC">Every layer's last c (LSTMs), else empty.</param>
public sealed record RecurrentOutput(Variable? Outputs, Variable Last, IReadOnlyList<Variable> FinalH, IReadOnlyList<Variable> FinalC);

/// <summary>
/// Runs stacked recurrent cells over a sequence: each layer projects the inputs of all time steps with one
/// GEMM, then steps through time; gradients flow back through time by autograd. Input is time-first
/// [T, B, I] unless <see cref="BatchFirst"/>.
/// </summary>
public sealed class RecurrentLayer : Module
{
    private readonly Module[] _cells;
    private Tensor? _zeros;

    /// <summary>The cells, bottom first.</summary>
    public IReadOnlyList<IRecurrentCell> Cells => _cells.Cast<IRecurrentCell>().ToArray();

    /// <summary>Whether inputs and outputs are [B, T, ...].</summary>
    public bool BatchFirst { get; }

    /// <summary>The cell kind.</summary>
    public CellKind Kind { get; }

    /// <summary>Hidden width.</summary>
    public int HiddenSize { get; }

    /// <summary>Mean L2 norm of the top layer's h at each step of the last forward pass (the hidden-state dynamics).</summary>
    public double[] LastHiddenNorms { get; private set; } = [];

    /// <summary>Builds <paramref name="layers"/> stacked cells of <paramref name="kind"/>.</summary>
    public RecurrentLayer(CellKind kind, int inputSize, int hiddenSize, Rng rng, int layers = 1, bool batchFirst = false, float forgetBias = 1f, int maxSteps = 1024)
    {
        if (layers <= 0) throw new InvalidValueException(nameof(layers), $"RecurrentLayer: layer count must be positive, got {layers}.");
        Kind = kind;
        HiddenSize = hiddenSize;
        BatchFirst = batchFirst;
        _cells = new Module[layers];
        for (int l = 0; l < layers; l++)
        {
            int inp = l == 0 ? inputSize : hiddenSize;
            _cells[l] = kind switch
            {
                CellKind.Rnn => new RnnCell(inp, hiddenSize, rng),
                CellKind.Lstm => new LstmCell(inp, hiddenSize, rng, forgetBias),
                CellKind.LnLstm => new LnLstmCell(inp, hiddenSize, rng, forgetBias),
                CellKind.BnLstm => new BnLstmCell(inp, hiddenSize, rng, maxSteps, forgetBias),
                CellKind.Gru => new GruCell(inp, hiddenSize, rng),
                CellKind.LnGru => new LnGruCell(inp, hiddenSize, rng),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown cell"),
            };
        }
    }

    /// <summary>Runs the sequence and returns the top layer's outputs at every step.</summary>
    public override Variable Forward(Variable input) => Run(input).Outputs!;

    /// <summary>
    /// Re-estimates the per-time-step population statistics of batch-normalized cells (<see cref="BnLstmCell"/>)
    /// with the current weights over <paramref name="sequences"/> (each in this layer's input layout with at
    /// least two sequences), as <see cref="PopulationStatistics.Reestimate"/> does for a whole model. Returns the
    /// number of batches used; 0 when the cells keep no statistics.
    /// </summary>
    public int ReestimatePopulationStatistics(IEnumerable<Tensor> sequences, PopulationVariance variance = PopulationVariance.Pooled)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        return PopulationStatistics.Run(this, sequences, batchDim: BatchFirst ? 0 : 1, variance, x => Run(Variable.Constant(x), allOutputs: false));
    }

    /// <summary>
    /// Truncated backpropagation through time: when positive, only the last this-many steps are recorded;
    /// the earlier steps run without recording and hand their state on as a constant. Null or 0: full BPTT.
    /// </summary>
    public int? TruncateBackpropagation { get; set; }

    /// <summary>
    /// Runs the sequence. <paramref name="h0"/> and <paramref name="c0"/> give each layer's initial state
    /// ([B, H] each; zeros when null). With <paramref name="allOutputs"/> false only the last h is kept, and without
    /// gradients a long sequence then runs in blocks of time steps, so that memory does not grow with its length.
    /// </summary>
    public RecurrentOutput Run(Variable input, IReadOnlyList<Variable>? h0 = null, IReadOnlyList<Variable>? c0 = null, bool allOutputs = true)
    {
        if (TruncateBackpropagation is > 0 && GradMode.IsEnabled)
            return RunTruncated(input, h0, c0, allOutputs, TruncateBackpropagation.Value);
        CheckRank(input);
        int steps = input.Value.Dim(BatchFirst ? 1 : 0);
        int block = UnrecordedBlock(input.Value.Dim(BatchFirst ? 0 : 1), steps);
        if (GradMode.IsEnabled || allOutputs || block >= steps) return RunFull(input, BatchFirst, h0, c0, allOutputs);
        var norms = new double[steps];
        var (last, _, _) = RunUnrecorded(input, steps, block, h0, c0, norms);
        LastHiddenNorms = norms;
        return last;
    }

    /// <summary>Most elements of one unrecorded block's input projections (64 MB).</summary>
    private const int UnrecordedBlockElements = 16 << 20;

    /// <summary>Time steps per unrecorded block for a batch of <paramref name="batch"/>: the projections of a block stay within <see cref="UnrecordedBlockElements"/>.</summary>
    private int UnrecordedBlock(int batch, int steps)
    {
        long perStep = (long)Math.Max(1, batch) * 4 * HiddenSize;
        return (int)Math.Clamp(UnrecordedBlockElements / perStep, 1, Math.Max(1, steps));
    }

    /// <summary>
    /// Runs steps [0, <paramref name="count"/>) of <paramref name="input"/> (in the layer's layout) without recording,
    /// <paramref name="block"/> steps at a time, each block starting from the last one's final states; fills
    /// <paramref name="norms"/> from index 0.
    /// </summary>
    private (RecurrentOutput Last, IReadOnlyList<Variable>? H, IReadOnlyList<Variable>? C) RunUnrecorded(Variable input, int count, int block,
        IReadOnlyList<Variable>? h0, IReadOnlyList<Variable>? c0, double[] norms)
    {
        IReadOnlyList<Variable>? hs = h0, cs = c0;
        RecurrentOutput last = null!;
        using (GradMode.NoGrad())
        {
            for (int start = 0; start < count; start += block)
            {
                int length = Math.Min(block, count - start);
                last = RunFull(TimeSlice(input, start, length), BatchFirst, hs, cs, false, firstStep: start);
                LastHiddenNorms.CopyTo(norms, start);
                hs = last.FinalH;
                cs = last.FinalC.Count > 0 ? last.FinalC : null;
            }
        }
        return (last, hs, cs);
    }

    /// <summary>Time steps [start, start + length) of an input in the layer's layout (a view time-first, a copy of the slice batch-first).</summary>
    private Variable TimeSlice(Variable input, int start, int length) =>
        BatchFirst ? F.Narrow(input, 1, start, length) : F.NarrowRows(input, start, length);

    /// <summary>
    /// The first steps run unrecorded, in blocks of at most <paramref name="window"/> steps so that no buffer grows with the
    /// sequence; their final state enters the recorded last <paramref name="window"/> steps as a constant, so gradients stop there.
    /// </summary>
    private RecurrentOutput RunTruncated(Variable input, IReadOnlyList<Variable>? h0, IReadOnlyList<Variable>? c0, bool allOutputs, int window)
    {
        if (allOutputs)
            throw new InvalidValueException(nameof(TruncateBackpropagation), "RecurrentLayer: truncated backpropagation keeps the last outputs only; run with allOutputs: false.");
        CheckRank(input);
        int steps = input.Value.Dim(BatchFirst ? 1 : 0);
        if (window >= steps) return RunFull(input, BatchFirst, h0, c0, false);
        int prefix = steps - window;
        var norms = new double[steps];
        var (_, hs, cs) = RunUnrecorded(input, prefix, Math.Min(window, UnrecordedBlock(input.Value.Dim(BatchFirst ? 0 : 1), prefix)), h0, c0, norms);
        var tail = RunFull(TimeSlice(input, prefix, window), BatchFirst, Constants(hs), cs is null ? null : Constants(cs), false, firstStep: prefix);
        LastHiddenNorms.CopyTo(norms, prefix);
        LastHiddenNorms = norms;
        return tail;
    }

    private static List<Variable> Constants(IReadOnlyList<Variable>? states) => states!.Select(v => Variable.Constant(v.Value)).ToList();

    private void CheckRank(Variable input)
    {
        if (input.Value.Rank != 3)
            throw new ShapeMismatchException($"RecurrentLayer({CellKinds.Name(Kind)}): input must be {(BatchFirst ? "[B, T, I]" : "[T, B, I]")}, got {ShapeMismatchException.Format(input.Shape)}.");
    }

    /// <summary>Runs every step recorded; <paramref name="inputBatchFirst"/> gives <paramref name="input"/>'s layout (outputs are in the layer's).</summary>
    private RecurrentOutput RunFull(Variable input, bool inputBatchFirst, IReadOnlyList<Variable>? h0, IReadOnlyList<Variable>? c0, bool allOutputs, int firstStep = 0)
    {
        CheckRank(input);
        int steps = input.Value.Dim(inputBatchFirst ? 1 : 0), batch = input.Value.Dim(inputBatchFirst ? 0 : 1), width = input.Value.Dim(2);
        var first = (IRecurrentCell)_cells[0];
        if (steps == 0) throw new ShapeMismatchException($"RecurrentLayer({CellKinds.Name(Kind)}): the sequence has length 0.");
        if (width != first.InputSize)
            throw new ShapeMismatchException($"RecurrentLayer({CellKinds.Name(Kind)}): input width is {width} but the layer expects {first.InputSize} (input shape {ShapeMismatchException.Format(input.Shape)}).");
        CheckStates(h0, batch, "h0");
        if (first.HasCellState) CheckStates(c0, batch, "c0");

        var finalH = new List<Variable>(_cells.Length);
        var finalC = new List<Variable>(first.HasCellState ? _cells.Length : 0);
        var norms = LastHiddenNorms.Length == steps ? LastHiddenNorms : new double[steps];
        // A fused first layer reads a batch-first input as it is; later layers get time-first outputs.
        Variable layerInput = input;
        bool layerInputBatchFirst = inputBatchFirst;
        Variable last = null!;
        Variable? outputs = null;
        for (int l = 0; l < _cells.Length; l++)
        {
            var cell = (IRecurrentCell)_cells[l];
            bool top = l + 1 == _cells.Length;
            bool keep = allOutputs || !top;
            if (cell is ISequenceCell { RunsAsSequence: true } fused)
            {
                // The whole sequence as one fused node: every time step's input projection in one GEMM, then the steps.
                var sequence = fused.RunSequence(layerInput, h0?[l], cell.HasCellState ? c0?[l] : null,
                    reverse: false, batchFirst: layerInputBatchFirst, allOutputs: keep, norms: top ? norms : null, firstStep);
                last = sequence.FinalHidden();
                finalH.Add(last);
                if (cell.HasCellState) finalC.Add(sequence.FinalCell());
                if (keep) layerInput = sequence.Outputs();
            }
            else
            {
                if (layerInputBatchFirst) layerInput = F.SwapFirstTwoDims(layerInput);
                last = RunSteps(cell, layerInput, h0?[l], c0?[l], keep, top ? norms : null, firstStep, finalC, out var perStepOutputs);
                finalH.Add(last);
                if (perStepOutputs is not null) layerInput = perStepOutputs;
            }
            layerInputBatchFirst = false;
            if (top && allOutputs) outputs = layerInput;
        }
        LastHiddenNorms = norms;
        if (outputs is not null && BatchFirst) outputs = F.SwapFirstTwoDims(outputs);
        return new RecurrentOutput(outputs, last, finalH, finalC);
    }

    /// <summary>
    /// A cell without a fused sequence operation, one recorded step at a time (time step numbers from
    /// <paramref name="firstStep"/>); returns the last h and, with <paramref name="keep"/>, every h as [T, B, H].
    /// </summary>
    private Variable RunSteps(IRecurrentCell cell, Variable input, Variable? h0, Variable? c0, bool keep, double[]? norms, int firstStep,
        List<Variable> finalC, out Variable? outputs)
    {
        int steps = input.Value.Dim(0), batch = input.Value.Dim(1);
        var projected = cell.ProjectInputs(F.Reshape(input, steps * batch, input.Value.Dim(2)));
        var state = RecurrentState.Initial(cell, h0, cell.HasCellState ? c0 : null, batch, ref _zeros);
        var perStep = keep ? new List<Variable>(steps) : null;
        Variable h = null!;
        for (int t = 0; t < steps; t++)
        {
            state = cell.Step(F.NarrowRows(projected, t * batch, batch), state, firstStep + t);
            h = RecurrentState.Hidden(cell, state);
            perStep?.Add(h);
            if (norms is not null) norms[t] = MeanRowNorm(h.Value, batch);
        }
        if (cell.HasCellState) finalC.Add(RecurrentState.Cell(state));
        outputs = perStep is null ? null : F.Reshape(F.ConcatRows(perStep), steps, batch, HiddenSize);
        return h;
    }

    private void CheckStates(IReadOnlyList<Variable>? states, int batch, string name)
    {
        if (states is null) return;
        if (states.Count != _cells.Length)
            throw new ShapeMismatchException($"RecurrentLayer({CellKinds.Name(Kind)}): {name} holds {states.Count} states for {_cells.Length} layers.");
        foreach (var s in states)
            if (!s.Shape.SequenceEqual([batch, HiddenSize]))
                throw new ShapeMismatchException($"RecurrentLayer({CellKinds.Name(Kind)}): {name} must be [{batch}, {HiddenSize}] per layer, got {ShapeMismatchException.Format(s.Shape)}.");
    }

    private static double MeanRowNorm(Tensor h, int batch)
    {
        var s = h.Span;
        int width = h.Length / Math.Max(1, batch);
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            double q = 0;
            foreach (float v in s.Slice(b * width, width)) q += (double)v * v;
            total += Math.Sqrt(q);
        }
        return total / Math.Max(1, batch);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{CellKinds.Name(Kind)}, hidden_size={HiddenSize}, num_layers={_cells.Length}, batch_first={Repr.Bool(BatchFirst)}";
}
