using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Kernels.Normalization;
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
    /// </summary>
    public static Variable LstmStep(Variable projected, Variable state, Variable weightHh, Variable? bias, LstmLayerNorm? ln = null)
    {
        Tape.CheckAlive(projected, "LstmStep");
        Tape.CheckAlive(state, "LstmStep");
        if (state.Value.Rank != 3 || state.Value.Dim(0) != 2)
            throw new ShapeMismatchException($"LstmStep: state must be [2, B, H] (h then c), got {ShapeMismatchException.Format(state.Shape)}.");
        int batch = state.Value.Dim(1), hidden = state.Value.Dim(2), g4 = 4 * hidden;
        if (!projected.Shape.SequenceEqual([batch, g4]))
            throw new ShapeMismatchException($"LstmStep: projected input must be [{batch}, {g4}], got {ShapeMismatchException.Format(projected.Shape)}.");
        if (!weightHh.Shape.SequenceEqual([g4, hidden]))
            throw new ShapeMismatchException($"LstmStep: weight_hh must be [{g4}, {hidden}], got {ShapeMismatchException.Format(weightHh.Shape)}.");
        if (bias is not null && bias.Value.Length != g4)
            throw new ShapeMismatchException($"LstmStep: bias must have {g4} elements, got {bias.Value.Length}.");

        var tape = Tape.Current;
        bool record = Tape.NeedsGrad(projected, state, weightHh) || (bias is not null && Tape.NeedsGrad(bias))
            || (ln is not null && (Tape.NeedsGrad(ln.IhWeight, ln.IhBias, ln.HhWeight) || Tape.NeedsGrad(ln.HhBias, ln.CWeight, ln.CBias)));
        Tensor Scratch(params ReadOnlySpan<int> shape) => record ? tape.Allocate(shape) : Tensor.Zeros(shape);
        var next = tape.Allocate(2, batch, hidden);
        var hp = Scratch(batch, g4);        // W_hh h (before its normalization)
        var gates = Scratch(batch, g4);     // activated gates: σ(i), σ(f), tanh(g), σ(o)
        var cNorm = Scratch(batch, hidden); // tanh of the (normalized) new cell state
        Tensor? lnIhMean = null, lnIhRstd = null, lnHhMean = null, lnHhRstd = null, lnCMean = null, lnCRstd = null, normIh = null;
        var h = state.Value.Span[..(batch * hidden)];
        var c = state.Value.Span.Slice(batch * hidden, batch * hidden);

        Gemm.Multiply(false, true, batch, g4, hidden, 1f, h, hidden, weightHh.Value.Span, hidden, 0f, hp.Span, g4);
        var pre = gates.Span;
        if (ln is null)
        {
            ElementwiseKernels.Add(projected.Value.Span, hp.Span, pre);
        }
        else
        {
            (lnIhMean, lnIhRstd, lnHhMean, lnHhRstd) = (Scratch(batch), Scratch(batch), Scratch(batch), Scratch(batch));
            normIh = Scratch(batch, g4);
            LayerNormKernels.Forward(projected.Value.Span, ln.IhWeight.Value.Span, ln.IhBias.Value.Span, normIh.Span, lnIhMean.Span, lnIhRstd.Span, batch, g4, ln.Eps);
            LayerNormKernels.Forward(hp.Span, ln.HhWeight.Value.Span, ln.HhBias.Value.Span, pre, lnHhMean.Span, lnHhRstd.Span, batch, g4, ln.Eps);
            ElementwiseKernels.AddInPlace(pre, normIh.Span);
        }
        if (bias is not null) ElementwiseKernels.AddRowBroadcast(pre, bias.Value.Span, pre, batch, g4);
        for (int b = 0; b < batch; b++)
        {
            var row = pre.Slice(b * g4, g4);
            ActivationKernels.SigmoidForward(row[..(2 * hidden)], row[..(2 * hidden)]);
            ActivationKernels.TanhForward(row.Slice(2 * hidden, hidden), row.Slice(2 * hidden, hidden));
            ActivationKernels.SigmoidForward(row.Slice(3 * hidden, hidden), row.Slice(3 * hidden, hidden));
        }
        var hNext = next.Span[..(batch * hidden)];
        var cNext = next.Span.Slice(batch * hidden, batch * hidden);
        for (int b = 0; b < batch; b++)
        {
            var row = pre.Slice(b * g4, g4);
            for (int j = 0; j < hidden; j++)
                cNext[b * hidden + j] = row[hidden + j] * c[b * hidden + j] + row[j] * row[2 * hidden + j];
        }
        if (ln is null) ActivationKernels.TanhForward(cNext, cNorm.Span);
        else
        {
            (lnCMean, lnCRstd) = (Scratch(batch), Scratch(batch));
            LayerNormKernels.Forward(cNext, ln.CWeight.Value.Span, ln.CBias.Value.Span, cNorm.Span, lnCMean.Span, lnCRstd.Span, batch, hidden, ln.Eps);
            ActivationKernels.TanhForward(cNorm.Span, cNorm.Span);
        }
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < hidden; j++)
                hNext[b * hidden + j] = pre[b * g4 + 3 * hidden + j] * cNorm[b * hidden + j];

        if (!record) return tape.Wrap(next);
        var node = tape.RentNode<LstmStepNode>();
        (node.Projected, node.State, node.WeightHh, node.Bias, node.Ln) = (projected, state, weightHh, bias, ln);
        (node.Hp, node.Gates, node.TanhC, node.NormIh) = (hp, gates, cNorm, normIh);
        (node.IhMean, node.IhRstd, node.HhMean, node.HhRstd, node.CMean, node.CRstd) = (lnIhMean, lnIhRstd, lnHhMean, lnHhRstd, lnCMean, lnCRstd);
        (node.Batch, node.Hidden) = (batch, hidden);
        return tape.Record(node, next);
    }

    private sealed class LstmStepNode : Node
    {
        public Variable Projected = null!, State = null!, WeightHh = null!;
        public Variable? Bias;
        public LstmLayerNorm? Ln;
        public Tensor Hp = null!, Gates = null!, TanhC = null!;
        public Tensor? NormIh, IhMean, IhRstd, HhMean, HhRstd, CMean, CRstd;
        public int Batch, Hidden;

        internal override void Backward(Tape tape)
        {
            int bsz = Batch, hd = Hidden, g4 = 4 * hd, n = bsz * hd;
            var dNext = Output.Grad!.Span;
            var dh = dNext[..n];
            var dcIn = dNext.Slice(n, n);
            var gate = Gates.Span;
            var tc = TanhC.Span;
            var c = State.Value.Span.Slice(n, n);
            var cNext = Output.Value.Span.Slice(n, n);

            // Through h' = σ(o)·tanh(norm(c')): the gradient reaching c' (plus what flows in directly).
            var dc = tape.Allocate(bsz, hd).Span;
            for (int i = 0; i < n; i++) dc[i] = dh[i] * gate[(i / hd) * g4 + 3 * hd + i % hd] * (1f - tc[i] * tc[i]);
            if (Ln is not null)
            {
                var dNorm = tape.Allocate(bsz, hd).Span;
                dc.CopyTo(dNorm);
                var gw = tape.GradientFor(Ln.CWeight);
                var gb = tape.GradientFor(Ln.CBias);
                LayerNormKernels.Backward(dNorm, cNext, Ln.CWeight.Value.Span, CMean!.Span, CRstd!.Span, dc,
                    SpanOf(gw), SpanOf(gb), bsz, hd);
                gw?.Commit();
                gb?.Commit();
            }
            ElementwiseKernels.AddInPlace(dc, dcIn);

            // Gate pre-activations.
            var dGates = tape.Allocate(bsz, g4).Span;
            var dcPrev = tape.Allocate(bsz, hd).Span;
            for (int b = 0; b < bsz; b++)
            {
                var gr = gate.Slice(b * g4, g4);
                var dg = dGates.Slice(b * g4, g4);
                for (int j = 0; j < hd; j++)
                {
                    int k = b * hd + j;
                    float si = gr[j], sf = gr[hd + j], tg = gr[2 * hd + j], so = gr[3 * hd + j];
                    float dck = dc[k];
                    dg[j] = dck * tg * si * (1f - si);
                    dg[hd + j] = dck * c[k] * sf * (1f - sf);
                    dg[2 * hd + j] = dck * si * (1f - tg * tg);
                    dg[3 * hd + j] = dh[k] * tc[k] * so * (1f - so);
                    dcPrev[k] = dck * sf;
                }
            }
            if (Bias is not null && tape.GradientForAccumulatingKernel(Bias, out bool accB) is { } db)
                ElementwiseKernels.SumOverRows(dGates, db.Span, bsz, g4, accB);

            // Back through the normalizations (or straight through without them) to W_hh h and the projected input.
            Span<float> dHp = dGates;
            if (Ln is not null)
            {
                dHp = tape.Allocate(bsz, g4).Span;
                var gw = tape.GradientFor(Ln.HhWeight);
                var gb = tape.GradientFor(Ln.HhBias);
                LayerNormKernels.Backward(dGates, Hp.Span, Ln.HhWeight.Value.Span, HhMean!.Span, HhRstd!.Span, dHp,
                    SpanOf(gw), SpanOf(gb), bsz, g4);
                gw?.Commit();
                gb?.Commit();
                var gx = tape.GradientFor(Projected);
                var giw = tape.GradientFor(Ln.IhWeight);
                var gib = tape.GradientFor(Ln.IhBias);
                if (gx is not null || giw is not null || gib is not null)
                {
                    var dx = DxBuffer(tape, gx, Projected);
                    LayerNormKernels.Backward(dGates, Projected.Value.Span, Ln.IhWeight.Value.Span, IhMean!.Span, IhRstd!.Span, dx.Span,
                        SpanOf(giw), SpanOf(gib), bsz, g4);
                    gx?.Commit();
                    giw?.Commit();
                    gib?.Commit();
                }
            }
            else if (tape.GradientFor(Projected) is { } gx)
            {
                dGates.CopyTo(gx.Buffer.Span);
                gx.Commit();
            }

            var h = State.Value.Span[..n];
            if (tape.GradientForAccumulatingKernel(WeightHh, out bool accW) is { } dw)
                Gemm.Multiply(true, false, g4, hd, bsz, 1f, dHp, g4, h, hd, accW ? 1f : 0f, dw.Span, hd);
            if (tape.GradientFor(State) is { } gs)
            {
                var ds = gs.Buffer.Span;
                Gemm.Multiply(false, false, bsz, hd, g4, 1f, dHp, g4, WeightHh.Value.Span, hd, 0f, ds[..n], hd);
                dcPrev.CopyTo(ds.Slice(n, n));
                gs.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            Projected = State = WeightHh = null!;
            Bias = null;
            Ln = null;
            Hp = Gates = TanhC = null!;
            NormIh = IhMean = IhRstd = HhMean = HhRstd = CMean = CRstd = null;
        }
    }
}
