using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Kernels.Recurrent;
using NormSharp.Kernels.Simd;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// The normalization parameters of a layer-normalized GRU (as in the paper's reference code): W_ih·x and W_hh·h are
    /// each normalized, the reset/update block (first 2H units) and the candidate block (last H) with statistics of their own.
    /// </summary>
    /// <param name="IhWeight">Gains of LN(W_ih x), [3H] (2H then H).</param>
    /// <param name="IhBias">Shifts of LN(W_ih x), [3H].</param>
    /// <param name="HhWeight">Gains of LN(W_hh h), [3H].</param>
    /// <param name="HhBias">Shifts of LN(W_hh h), [3H].</param>
    /// <param name="Eps">Added to every variance.</param>
    public sealed record GruLayerNorm(Variable IhWeight, Variable IhBias, Variable HhWeight, Variable HhBias, float Eps);

    /// <summary>
    /// One fused GRU time step (PyTorch's gate order r, z, n) from the projected input [B, 3H] and h [B, H]; returns h'.
    /// Without <paramref name="ln"/>: r = σ(x_r + hp_r), z = σ(x_z + hp_z), n = tanh(x_n + r·hp_n), h' = n + z·(h − n) with
    /// hp = W_hh·h + b_hh, the projected input x holding W_ih·x + b_ih. With it (LN-GRU) x and W_hh·h are layer-normalized
    /// in two blocks first, and <paramref name="biasIh"/> (then not part of the projection) and b_hh are added after the
    /// normalizations. One node forward and backward. <see cref="GruSequence"/> runs a whole sequence as one node.
    /// </summary>
    /// <exception cref="InvalidValueException"><paramref name="biasIh"/> is given without <paramref name="ln"/> (it belongs in the projection then).</exception>
    public static Variable GruStep(Variable projected, Variable h, Variable weightHh, Variable? biasHh, GruLayerNorm? ln = null, Variable? biasIh = null)
    {
        const string Op = "GruStep";
        Tape.CheckAlive(projected, Op);
        Tape.CheckAlive(h, Op);
        Tape.CheckAlive(weightHh, Op);
        if (h.Value.Rank != 2)
            throw new ShapeMismatchException($"{Op}: h must be [B, H], got {ShapeMismatchException.Format(h.Shape)}.");
        int batch = h.Value.Dim(0), hidden = h.Value.Dim(1), g = 3 * hidden;
        if (!projected.Shape.SequenceEqual([batch, g]))
            throw new ShapeMismatchException($"{Op}: projected input must be [{batch}, {g}], got {ShapeMismatchException.Format(projected.Shape)}.");
        if (!weightHh.Shape.SequenceEqual([g, hidden]))
            throw new ShapeMismatchException($"{Op}: weight_hh must be [{g}, {hidden}], got {ShapeMismatchException.Format(weightHh.Shape)}.");
        if (biasIh is not null && ln is null)
            throw new InvalidValueException(nameof(biasIh), $"{Op}: without layer normalization b_ih belongs in the projected input; pass it only with ln.");
        CheckGruParameters(Op, biasIh, biasHh, ln, hidden);
        bool record = GruNeedsGrad(biasIh, biasHh, ln, projected, h, weightHh);
        return ln is null ? GruStepCore<No>(projected, h, weightHh, null, biasHh, null, record) : GruStepCore<Yes>(projected, h, weightHh, biasIh, biasHh, ln, record);
    }

    private static Variable GruStepCore<TLn>(Variable projected, Variable h, Variable weightHh, Variable? biasIh, Variable? biasHh, GruLayerNorm? ln, bool record)
        where TLn : struct, IFlag
    {
        var tape = Tape.Current;
        int batch = h.Value.Dim(0), hidden = h.Value.Dim(1);
        var node = record ? tape.RentNode<GruNode<TLn>>() : new GruNode<TLn>();
        node.ConfigureInputs(null, null, null, projected, weightHh, steps: 1, batch, hidden, reverse: false, batchFirst: false, keepAll: true);
        (node.CellBiasIh, node.BiasHh, node.Ln, node.State) = (biasIh, biasHh, ln, h);
        node.RunForward(tape, record, null);
        var next = Tensor.View(node.Packed, node.Packed.Offset + batch * hidden, [batch, hidden]);
        return record ? tape.Record(node, next) : tape.Wrap(next);
    }

    /// <summary>
    /// A whole GRU layer (or LN-GRU, with <paramref name="ln"/>) over a sequence as one fused node, in PyTorch's convention
    /// (gate order r, z, n): <paramref name="input"/> is [T, B, I] (or [B, T, I] with <paramref name="batchFirst"/>),
    /// every time step's projection is one GEMM, then each step applies the gates as <see cref="GruStep"/> does. Without
    /// <paramref name="ln"/>, <paramref name="biasIh"/> is the projection's bias; with it, b_ih and b_hh are added after
    /// the normalizations. <paramref name="h0"/> ([B, H]) defaults to zeros; <paramref name="reverse"/> runs from the last
    /// time step to the first; see <see cref="LstmSequence"/> for the rest.
    /// </summary>
    public static RecurrentSequence GruSequence(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0 = null, GruLayerNorm? ln = null, bool reverse = false, bool batchFirst = false, bool allOutputs = true) =>
        GruSequenceWithNorms(input, weightIh, biasIh, weightHh, biasHh, h0, ln, reverse, batchFirst, allOutputs, norms: null);

    /// <summary>The GRU layer of <see cref="GruSequence"/>, also writing the mean L2 norm of h at each step into <paramref name="norms"/> (length T).</summary>
    internal static RecurrentSequence GruSequenceWithNorms(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, GruLayerNorm? ln, bool reverse, bool batchFirst, bool allOutputs, double[]? norms)
    {
        const string Op = "GruSequence";
        var (steps, batch, hidden) = SequenceShape(Op, 3, input, weightIh, biasIh, weightHh, h0, null, batchFirst);
        CheckGruParameters(Op, biasIh, biasHh, ln, hidden);
        bool record = GruNeedsGrad(biasIh, biasHh, ln, input, weightIh, weightHh) || (h0 is not null && Tape.NeedsGrad(h0));
        var tape = Tape.Current;
        if (ln is null)
        {
            var node = record ? tape.RentNode<GruNode<No>>() : new GruNode<No>();
            node.ConfigureInputs(input, weightIh, biasIh, null, weightHh, steps, batch, hidden, reverse, batchFirst, keepAll: record || allOutputs);
            (node.CellBiasIh, node.BiasHh, node.Ln, node.H0) = (null, biasHh, null, h0);
            return RunSequence(node, tape, record, allOutputs, norms);
        }
        var normalized = record ? tape.RentNode<GruNode<Yes>>() : new GruNode<Yes>();
        // The projection carries no bias: LN would remove it; b_ih is added after the normalization.
        normalized.ConfigureInputs(input, weightIh, null, null, weightHh, steps, batch, hidden, reverse, batchFirst, keepAll: record || allOutputs);
        (normalized.CellBiasIh, normalized.BiasHh, normalized.Ln, normalized.H0) = (biasIh, biasHh, ln, h0);
        return RunSequence(normalized, tape, record, allOutputs, norms);
    }

    private static void CheckGruParameters(string op, Variable? biasIh, Variable? biasHh, GruLayerNorm? ln, int hidden)
    {
        CheckVector(op, "bias_ih", biasIh, 3 * hidden);
        CheckVector(op, "bias_hh", biasHh, 3 * hidden);
        if (ln is null) return;
        CheckVector(op, "ln_ih_weight", ln.IhWeight, 3 * hidden);
        CheckVector(op, "ln_ih_bias", ln.IhBias, 3 * hidden);
        CheckVector(op, "ln_hh_weight", ln.HhWeight, 3 * hidden);
        CheckVector(op, "ln_hh_bias", ln.HhBias, 3 * hidden);
        Kernels.Normalization.NormalizationArguments.CheckEps(op, ln.Eps);
    }

    private static bool GruNeedsGrad(Variable? biasIh, Variable? biasHh, GruLayerNorm? ln, Variable a, Variable b, Variable c) =>
        Tape.NeedsGrad(a, b, c) || (biasIh is not null && Tape.NeedsGrad(biasIh)) || (biasHh is not null && Tape.NeedsGrad(biasHh))
        || (ln is not null && (Tape.NeedsGrad(ln.IhWeight, ln.IhBias, ln.HhWeight) || Tape.NeedsGrad(ln.HhBias)));

    private sealed unsafe class GruNode<TLn> : SequenceNode<GruCellKernel<TLn>> where TLn : struct, IFlag
    {
        /// <summary>b_ih of a layer-normalized cell, added after the normalization (a plain cell's is in the projection).</summary>
        public Variable? CellBiasIh;
        public Variable? BiasHh;
        public GruLayerNorm? Ln;
        public Tensor? Gates, Stats;

        protected override void AllocateWorkspace(Tape tape)
        {
            int rows = Steps * Batch;
            Gates = tape.Allocate(rows, 4 * Hidden);
            Stats = TLn.Value ? tape.Allocate(rows, GruCellKernel<TLn>.StatsPerRow) : null;
        }

        protected override GruCellKernel<TLn> Kernel(ref RecurrentPins pins, bool backward, float* dProjected)
        {
            var k = new GruCellKernel<TLn>
            {
                Batch = Batch, Hidden = Hidden,
                Gates = pins.Pin(Gates), Stats = pins.Pin(Stats), DProjected = dProjected,
            };
            if (Ln is { } ln)
            {
                k.IhGain = pins.Pin(ln.IhWeight);
                k.HhGain = pins.Pin(ln.HhWeight);
                k.Eps = ln.Eps;
            }
            if (!backward) k.Shift = ComputeShift();
            return k;
        }

        /// <summary>
        /// [4H]: b_ih + b_hh for r and z, then b_ih and b_hh of n; layer-normalized, the shifts β_ih and β_hh join their
        /// biases (b_ih is then the cell's, added after the normalization, not the projection's).
        /// </summary>
        private float* ComputeShift()
        {
            int hd = Hidden, g = 3 * hd;
            float* p = RecurrentScratch.Vectors(4 * hd);
            var shift = new Span<float>(p, 4 * hd);
            shift.Clear();
            var ih = shift[..g];
            var hh = shift.Slice(3 * hd, hd);
            var rz = shift[..(2 * hd)];
            if ((BiasIh ?? CellBiasIh) is { } bih) ElementwiseKernels.AddInPlace(ih, bih.Value.Span);
            if (Ln is { } ln) ElementwiseKernels.AddInPlace(ih, ln.IhBias.Value.Span);
            if (BiasHh is { } bhh)
            {
                ElementwiseKernels.AddInPlace(rz, bhh.Value.Span[..(2 * hd)]);
                ElementwiseKernels.AddInPlace(hh, bhh.Value.Span.Slice(2 * hd, hd));
            }
            if (Ln is { } n)
            {
                ElementwiseKernels.AddInPlace(rz, n.HhBias.Value.Span[..(2 * hd)]);
                ElementwiseKernels.AddInPlace(hh, n.HhBias.Value.Span.Slice(2 * hd, hd));
            }
            return p;
        }

        protected override void ParameterGradients(Tape tape, Tensor dHpAll, Tensor dProjected, float* partials, int chunks)
        {
            if (Ln is not { } ln)
            {
                RowSumGradient(tape, BiasHh, dHpAll);
                return;
            }
            int g = 3 * Hidden, stride = 4 * g;
            PartialGradient(tape, ln.IhWeight, partials, chunks, stride, 0, g);
            PartialGradient(tape, ln.IhBias, partials, chunks, stride, g, g);
            PartialGradient(tape, CellBiasIh, partials, chunks, stride, g, g);
            PartialGradient(tape, ln.HhWeight, partials, chunks, stride, 2 * g, g);
            PartialGradient(tape, ln.HhBias, partials, chunks, stride, 3 * g, g);
            PartialGradient(tape, BiasHh, partials, chunks, stride, 3 * g, g);
        }

        protected override void ClearCell()
        {
            CellBiasIh = BiasHh = null;
            Ln = null;
            Gates = Stats = null;
        }
    }
}
