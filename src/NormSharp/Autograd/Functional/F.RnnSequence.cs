using NormSharp.Errors;
using NormSharp.Kernels.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// One fused step of the Elman tanh RNN: h' = tanh(projected + W_hh·h + b_hh), with <paramref name="projected"/>
    /// = W_ih·x + b_ih [B, H] and h [B, H]. <see cref="RnnSequence"/> runs a whole sequence as one node.
    /// </summary>
    public static Variable RnnStep(Variable projected, Variable h, Variable weightHh, Variable? biasHh)
    {
        const string Op = "RnnStep";
        Tape.CheckAlive(projected, Op);
        Tape.CheckAlive(h, Op);
        Tape.CheckAlive(weightHh, Op);
        if (h.Value.Rank != 2)
            throw new ShapeMismatchException($"{Op}: h must be [B, H], got {ShapeMismatchException.Format(h.Shape)}.");
        int batch = h.Value.Dim(0), hidden = h.Value.Dim(1);
        if (!projected.Shape.SequenceEqual([batch, hidden]))
            throw new ShapeMismatchException($"{Op}: projected input must be [{batch}, {hidden}], got {ShapeMismatchException.Format(projected.Shape)}.");
        if (!weightHh.Shape.SequenceEqual([hidden, hidden]))
            throw new ShapeMismatchException($"{Op}: weight_hh must be [{hidden}, {hidden}], got {ShapeMismatchException.Format(weightHh.Shape)}.");
        CheckVector(Op, "bias_hh", biasHh, hidden);
        var tape = Tape.Current;
        bool record = Tape.NeedsGrad(projected, h, weightHh) || (biasHh is not null && Tape.NeedsGrad(biasHh));
        var node = record ? tape.RentNode<RnnNode>() : new RnnNode();
        node.ConfigureInputs(null, null, null, projected, weightHh, steps: 1, batch, hidden, reverse: false, batchFirst: false, keepAll: true);
        (node.BiasHh, node.State) = (biasHh, h);
        node.RunForward(tape, record, null);
        var next = Tensor.View(node.Packed, node.Packed.Offset + batch * hidden, [batch, hidden]);
        return record ? tape.Record(node, next) : tape.Wrap(next);
    }

    /// <summary>
    /// A whole Elman tanh RNN layer over a sequence as one fused node (PyTorch's <c>nn.RNN</c> with tanh):
    /// h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh). <paramref name="input"/> is [T, B, I] (or [B, T, I] with
    /// <paramref name="batchFirst"/>); see <see cref="LstmSequence"/> for the rest.
    /// </summary>
    public static RecurrentSequence RnnSequence(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0 = null, bool reverse = false, bool batchFirst = false, bool allOutputs = true) =>
        RnnSequenceWithNorms(input, weightIh, biasIh, weightHh, biasHh, h0, reverse, batchFirst, allOutputs, norms: null);

    /// <summary>The RNN layer of <see cref="RnnSequence"/>, also writing the mean L2 norm of h at each step into <paramref name="norms"/> (length T).</summary>
    internal static RecurrentSequence RnnSequenceWithNorms(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms)
    {
        const string Op = "RnnSequence";
        var (steps, batch, hidden) = SequenceShape(Op, 1, input, weightIh, biasIh, weightHh, h0, null, batchFirst);
        CheckVector(Op, "bias_hh", biasHh, hidden);
        bool record = Tape.NeedsGrad(input, weightIh, weightHh) || Tape.NeedsGrad(h0 ?? input, biasIh, biasHh);
        var tape = Tape.Current;
        var node = record ? tape.RentNode<RnnNode>() : new RnnNode();
        node.ConfigureInputs(input, weightIh, biasIh, null, weightHh, steps, batch, hidden, reverse, batchFirst, keepAll: record || allOutputs);
        (node.BiasHh, node.H0) = (biasHh, h0);
        return RunSequence(node, tape, record, allOutputs, norms);
    }

    private sealed unsafe class RnnNode : SequenceNode<RnnCellKernel>
    {
        public Variable? BiasHh;

        protected override void AllocateWorkspace(Tape tape) { }

        protected override RnnCellKernel Kernel(ref RecurrentPins pins, bool backward, float* dProjected)
        {
            var k = new RnnCellKernel { Hidden = Hidden };
            if (!backward)
            {
                k.Shift = RecurrentScratch.Vectors(Hidden);
                var shift = new Span<float>(k.Shift, Hidden);
                if (BiasHh is null) shift.Clear();
                else BiasHh.Value.Span.CopyTo(shift);
                if (BiasIh is not null) Kernels.ElementwiseKernels.AddInPlace(shift, BiasIh.Value.Span);
            }
            return k;
        }

        protected override void ParameterGradients(Tape tape, Tensor dHpAll, Tensor dProjected, float* partials, int chunks) =>
            RowSumGradient(tape, BiasHh, dHpAll);

        protected override void ClearCell() => BiasHh = null;
    }
}
