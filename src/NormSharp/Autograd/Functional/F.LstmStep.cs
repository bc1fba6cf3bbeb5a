using NormSharp.Errors;
using NormSharp.Kernels.Recurrent;
using NormSharp.Kernels.Simd;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>The normalization parameters of a layer-normalized LSTM step (Ba et al. 2016).</summary>
    /// <param name="IhWeight">Gain of LN(W_ih x), [4H].</param>
    /// <param name="IhBias">Shift of LN(W_ih x), [4H].</param>
    /// <param name="HhWeight">Gain of LN(W_hh h), [4H].</param>
    /// <param name="HhBias">Shift of LN(W_hh h), [4H].</param>
    /// <param name="CWeight">Gain of LN(c), [H].</param>
    /// <param name="CBias">Shift of LN(c), [H].</param>
    /// <param name="Eps">Added to every variance.</param>
    public sealed record LstmLayerNorm(Variable IhWeight, Variable IhBias, Variable HhWeight, Variable HhBias, Variable CWeight, Variable CBias, float Eps);

    /// <summary>
    /// One fused LSTM time step (gate order i, f, g, o). <paramref name="state"/> is [2, B, H] holding h then c;
    /// the result is the next state in the same layout. Without <paramref name="ln"/>:
    /// gates = projected + W_hh h + bias, h' = σ(o)·tanh(c'). With it (LN-LSTM):
    /// gates = LN(projected) + LN(W_hh h) + bias, h' = σ(o)·tanh(LN(c')). One node forward and backward:
    /// the recurrent GEMM, the normalizations, the gate nonlinearities and the state update in one pass.
    /// <see cref="LstmSequence"/> runs a whole sequence as one node.
    /// </summary>
    public static Variable LstmStep(Variable projected, Variable state, Variable weightHh, Variable? bias, LstmLayerNorm? ln = null)
    {
        const string Op = "LstmStep";
        Tape.CheckAlive(projected, Op);
        Tape.CheckAlive(state, Op);
        Tape.CheckAlive(weightHh, Op);
        if (state.Value.Rank != 3 || state.Value.Dim(0) != 2)
            throw new ShapeMismatchException($"{Op}: state must be [2, B, H] (h then c), got {ShapeMismatchException.Format(state.Shape)}.");
        int batch = state.Value.Dim(1), hidden = state.Value.Dim(2), g4 = 4 * hidden;
        if (!projected.Shape.SequenceEqual([batch, g4]))
            throw new ShapeMismatchException($"{Op}: projected input must be [{batch}, {g4}], got {ShapeMismatchException.Format(projected.Shape)}.");
        if (!weightHh.Shape.SequenceEqual([g4, hidden]))
            throw new ShapeMismatchException($"{Op}: weight_hh must be [{g4}, {hidden}], got {ShapeMismatchException.Format(weightHh.Shape)}.");
        CheckLstmParameters(Op, bias, ln, hidden);
        bool record = LstmNeedsGrad(bias, ln, projected, state, weightHh);
        return ln is null ? LstmStepCore<No>(projected, state, weightHh, bias, null, record) : LstmStepCore<Yes>(projected, state, weightHh, bias, ln, record);
    }

    private static Variable LstmStepCore<TLn>(Variable projected, Variable state, Variable weightHh, Variable? bias, LstmLayerNorm? ln, bool record)
        where TLn : struct, IFlag
    {
        var tape = Tape.Current;
        int batch = state.Value.Dim(1), hidden = state.Value.Dim(2);
        var node = record ? tape.RentNode<LstmNode<TLn>>() : new LstmNode<TLn>();
        node.ConfigureInputs(null, null, null, projected, weightHh, steps: 1, batch, hidden, reverse: false, batchFirst: false, keepAll: true);
        (node.Bias, node.Ln, node.State) = (bias, ln, state);
        node.RunForward(tape, record, null);
        // The next state is slot 1 (h') followed by the final cell state c': rows B..3B of the result.
        var next = Tensor.View(node.Packed, node.Packed.Offset + batch * hidden, [2, batch, hidden]);
        return record ? tape.Record(node, next) : tape.Wrap(next);
    }

    /// <summary>
    /// A whole LSTM layer (or LN-LSTM, with <paramref name="ln"/>) over a sequence as one fused node, in PyTorch's
    /// convention (gate order i, f, g, o). <paramref name="input"/> is [T, B, I] (or [B, T, I] with
    /// <paramref name="batchFirst"/>); every time step's projection W_ih·x_t + b_ih is one GEMM, then each step adds
    /// W_hh·h_{t−1} + <paramref name="biasHh"/> and applies the gates as <see cref="LstmStep"/> does. The batch is split
    /// over the cores for the whole sequence, W_hh is packed once, and the backward takes the gradients of W_hh and
    /// W_ih each as one product over all steps. <paramref name="h0"/> and <paramref name="c0"/> ([B, H]) default to
    /// zeros; with <paramref name="reverse"/> the steps run from the last time to the first (the backward direction of
    /// a bidirectional layer). With <paramref name="allOutputs"/> false and no gradient needed only the final states are kept.
    /// The layer-normalized cell of Ba et al. has no b_ih: pass null and its bias as <paramref name="biasHh"/>.
    /// </summary>
    public static RecurrentSequence LstmSequence(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0 = null, Variable? c0 = null, LstmLayerNorm? ln = null, bool reverse = false, bool batchFirst = false, bool allOutputs = true) =>
        LstmSequenceWithNorms(input, weightIh, biasIh, weightHh, biasHh, h0, c0, ln, reverse, batchFirst, allOutputs, norms: null);

    /// <summary>The LSTM layer of <see cref="LstmSequence"/>, also writing the mean L2 norm of h at each step into <paramref name="norms"/> (length T).</summary>
    internal static RecurrentSequence LstmSequenceWithNorms(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, Variable? c0, LstmLayerNorm? ln, bool reverse, bool batchFirst, bool allOutputs, double[]? norms)
    {
        const string Op = "LstmSequence";
        var (steps, batch, hidden) = SequenceShape(Op, 4, input, weightIh, biasIh, weightHh, h0, c0, batchFirst);
        CheckLstmParameters(Op, biasHh, ln, hidden);
        bool record = LstmNeedsGrad(biasHh, ln, input, weightHh, h0) || Tape.NeedsGrad(weightIh, biasIh, c0);
        return ln is null
            ? LstmSequenceCore<No>(input, weightIh, biasIh, weightHh, biasHh, h0, c0, null, reverse, batchFirst, allOutputs, norms, record, steps, batch, hidden)
            : LstmSequenceCore<Yes>(input, weightIh, biasIh, weightHh, biasHh, h0, c0, ln, reverse, batchFirst, allOutputs, norms, record, steps, batch, hidden);
    }

    private static RecurrentSequence LstmSequenceCore<TLn>(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, Variable? c0, LstmLayerNorm? ln, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, bool record,
        int steps, int batch, int hidden) where TLn : struct, IFlag
    {
        var tape = Tape.Current;
        var node = record ? tape.RentNode<LstmNode<TLn>>() : new LstmNode<TLn>();
        node.ConfigureInputs(input, weightIh, biasIh, null, weightHh, steps, batch, hidden, reverse, batchFirst, keepAll: record || allOutputs);
        (node.Bias, node.Ln, node.H0, node.C0) = (biasHh, ln, h0, c0);
        return RunSequence(node, tape, record, allOutputs, norms);
    }

    private static void CheckLstmParameters(string op, Variable? bias, LstmLayerNorm? ln, int hidden)
    {
        CheckVector(op, "bias", bias, 4 * hidden);
        if (ln is null) return;
        CheckVector(op, "ln_ih_weight", ln.IhWeight, 4 * hidden);
        CheckVector(op, "ln_ih_bias", ln.IhBias, 4 * hidden);
        CheckVector(op, "ln_hh_weight", ln.HhWeight, 4 * hidden);
        CheckVector(op, "ln_hh_bias", ln.HhBias, 4 * hidden);
        CheckVector(op, "ln_c_weight", ln.CWeight, hidden);
        CheckVector(op, "ln_c_bias", ln.CBias, hidden);
        Kernels.Normalization.NormalizationArguments.CheckEps(op, ln.Eps);
    }

    private static bool LstmNeedsGrad(Variable? bias, LstmLayerNorm? ln, Variable a, Variable b, Variable? c) =>
        Tape.NeedsGrad(a, b, c) || (bias is not null && Tape.NeedsGrad(bias))
        || (ln is not null && (Tape.NeedsGrad(ln.IhWeight, ln.IhBias, ln.HhWeight) || Tape.NeedsGrad(ln.HhBias, ln.CWeight, ln.CBias)));

    private sealed unsafe class LstmNode<TLn> : SequenceNode<LstmCellKernel<TLn>> where TLn : struct, IFlag
    {
        public Variable? Bias;
        public LstmLayerNorm? Ln;
        public Tensor? Gates, TanhC, Stats;

        protected override void AllocateWorkspace(Tape tape)
        {
            int rows = Steps * Batch;
            Gates = tape.Allocate(rows, 4 * Hidden);
            TanhC = tape.Allocate(rows, Hidden);
            Stats = TLn.Value ? tape.Allocate(rows, LstmCellKernel<TLn>.StatsPerRow) : null;
        }

        protected override LstmCellKernel<TLn> Kernel(ref RecurrentPins pins, bool backward, float* dProjected)
        {
            var k = new LstmCellKernel<TLn>
            {
                Batch = Batch, Hidden = Hidden,
                Gates = pins.Pin(Gates), TanhC = pins.Pin(TanhC), Stats = pins.Pin(Stats), DProjected = dProjected,
            };
            if (Ln is { } ln)
            {
                k.IhGain = pins.Pin(ln.IhWeight);
                k.HhGain = pins.Pin(ln.HhWeight);
                k.CGain = pins.Pin(ln.CWeight);
                k.CBias = pins.Pin(ln.CBias);
                k.Eps = ln.Eps;
            }
            if (!backward)
            {
                // What every gate row adds: b_ih + b_hh, or β_ih + β_hh + b for the layer-normalized cell.
                int g = 4 * Hidden;
                var shift = new Span<float>(RecurrentScratch.Vectors(g), g);
                if (Bias is null) shift.Clear();
                else Bias.Value.Span.CopyTo(shift);
                if (BiasIh is not null) Kernels.ElementwiseKernels.AddInPlace(shift, BiasIh.Value.Span);
                if (Ln is { } n)
                {
                    Kernels.ElementwiseKernels.AddInPlace(shift, n.IhBias.Value.Span);
                    Kernels.ElementwiseKernels.AddInPlace(shift, n.HhBias.Value.Span);
                }
                k.Shift = RecurrentScratch.Vectors(g);
            }
            return k;
        }

        protected override void ParameterGradients(Tape tape, Tensor dHpAll, Tensor dProjected, float* partials, int chunks)
        {
            if (Ln is not { } ln)
            {
                RowSumGradient(tape, Bias, dHpAll);
                return;
            }
            int hd = Hidden, stride = 14 * hd;
            PartialGradient(tape, ln.IhWeight, partials, chunks, stride, 0, 4 * hd);
            PartialGradient(tape, ln.HhWeight, partials, chunks, stride, 4 * hd, 4 * hd);
            // The bias and both shifts are added to the same pre-activations: each gets Σ dgates.
            PartialGradient(tape, ln.IhBias, partials, chunks, stride, 8 * hd, 4 * hd);
            PartialGradient(tape, ln.HhBias, partials, chunks, stride, 8 * hd, 4 * hd);
            PartialGradient(tape, Bias, partials, chunks, stride, 8 * hd, 4 * hd);
            PartialGradient(tape, ln.CWeight, partials, chunks, stride, 12 * hd, hd);
            PartialGradient(tape, ln.CBias, partials, chunks, stride, 13 * hd, hd);
        }

        protected override void ClearCell()
        {
            Bias = null;
            Ln = null;
            Gates = TanhC = Stats = null;
        }
    }
}
