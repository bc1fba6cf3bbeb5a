using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Kernels.Normalization;
using NormSharp.Kernels.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>The batch normalizations of a BN-LSTM step and their per-time-step statistics.</summary>
    /// <param name="IhWeight">Gain of BN(W_ih x), [4H].</param>
    /// <param name="HhWeight">Gain of BN(W_hh h), [4H].</param>
    /// <param name="CWeight">Gain of BN(c), [H].</param>
    /// <param name="CBias">Shift of BN(c), [H].</param>
    /// <param name="RunningMean">Running means per normalization (input, recurrent, cell) and time step.</param>
    /// <param name="RunningVar">Running variances, laid out as <paramref name="RunningMean"/>.</param>
    /// <param name="StatisticsSteps">Time steps with statistics (evaluation beyond them reuses the last).</param>
    /// <param name="Training">Normalize with each step's batch statistics and update the running ones (else use the running ones).</param>
    /// <param name="Momentum">Momentum of the running statistics.</param>
    internal sealed record BnLstmNorms(Variable IhWeight, Variable HhWeight, Variable CWeight, Variable CBias,
        Tensor[][] RunningMean, Tensor[][] RunningVar, int StatisticsSteps, bool Training, float Momentum);

    private const float BnLstmEps = 1e-5f;

    /// <summary>
    /// A whole batch-normalized LSTM layer (Cooijmans et al. 2016) over a sequence as one node: every step's input
    /// projection in one GEMM, then for each time step the recurrent GEMM, the two batch normalizations across the
    /// batch, the gates, the cell update and the normalization of the cell state. The statistics of each step tie the
    /// batch's rows together, so the steps run one after the other, each kernel split over the cores; the backward
    /// takes the gradients of W_hh and W_ih as one product over all steps. Step t of this call uses the statistics of
    /// time step <paramref name="firstStep"/> + t.
    /// </summary>
    internal static RecurrentSequence BnLstmSequence(Variable input, Variable weightIh, Variable weightHh, Variable bias, BnLstmNorms norms,
        Variable? h0, Variable? c0, int firstStep, bool batchFirst, bool allOutputs, double[]? hiddenNorms)
    {
        const string Op = "BnLstmSequence";
        var (steps, batch, hidden) = SequenceShape(Op, 4, input, weightIh, null, weightHh, h0, c0, batchFirst);
        CheckVector(Op, "bias", bias, 4 * hidden);
        CheckVector(Op, "bn_ih_weight", norms.IhWeight, 4 * hidden);
        CheckVector(Op, "bn_hh_weight", norms.HhWeight, 4 * hidden);
        CheckVector(Op, "bn_c_weight", norms.CWeight, hidden);
        CheckVector(Op, "bn_c_bias", norms.CBias, hidden);
        if (norms.Training && batch < 2)
            throw new InvalidValueException(nameof(input), $"{Op}: batch statistics need at least two samples per step, got a batch of {batch}.");
        var tape = Tape.Current;
        bool record = Tape.NeedsGrad(input, weightIh, weightHh) || Tape.NeedsGrad(bias, h0, c0)
            || Tape.NeedsGrad(norms.IhWeight, norms.HhWeight, norms.CWeight) || Tape.NeedsGrad(norms.CBias);
        var node = record ? tape.RentNode<BnLstmNode>() : new BnLstmNode();
        (node.Input, node.WeightIh, node.WeightHh, node.Bias, node.Norms, node.H0, node.C0) = (input, weightIh, weightHh, bias, norms, h0, c0);
        (node.Steps, node.Batch, node.Hidden, node.FirstStep, node.BatchFirst) = (steps, batch, hidden, firstStep, batchFirst);
        node.RunForward(tape, record, hiddenNorms);
        var output = record ? tape.Record(node, node.Packed) : tape.Wrap(node.Packed);
        return new RecurrentSequence(output, steps, batch, hidden, reverse: false, allOutputs, keptAll: true, hasCell: true);
    }

    private sealed class BnLstmNode : Node
    {
        public Variable Input = null!, WeightIh = null!, WeightHh = null!, Bias = null!;
        public Variable? H0, C0;
        public BnLstmNorms Norms = null!;
        public int Steps, Batch, Hidden, FirstStep;
        public bool BatchFirst;

        /// <summary>h slots [(T + 1)·B, H] (slot 0 the initial state), then the final c [B, H].</summary>
        public Tensor Packed = null!;

        /// <summary>Time-major input, projections, recurrent products, activated gates, cell states (slots as h), tanh of the normalized cell state.</summary>
        public Tensor TimeMajorInput = null!, Projected = null!, Hp = null!, Gates = null!, CSlots = null!, TanhC = null!;

        /// <summary>Batch statistics of each step (training): mean and 1/std of the three normalizations, [T, channels].</summary>
        public Tensor IhMean = null!, IhInvStd = null!, HhMean = null!, HhInvStd = null!, CMean = null!, CInvStd = null!;

        /// <summary>The statistics step of time step t of this call.</summary>
        private int StatisticsStep(int t) =>
            Norms.Training ? FirstStep + t : Math.Min(FirstStep + t, Math.Max(Norms.StatisticsSteps, 1) - 1);

        public unsafe void RunForward(Tape tape, bool record, double[]? hiddenNorms)
        {
            int bsz = Batch, hd = Hidden, g = 4 * hd, steps = Steps, features = WeightIh.Value.Dim(1), rows = bsz * steps;
            bool training = Norms.Training;
            Packed = tape.Allocate((steps + 2) * bsz, hd);
            CSlots = tape.Allocate((steps + 1) * bsz, hd);
            Gates = tape.Allocate(rows, g);
            TanhC = tape.Allocate(rows, hd);
            Hp = tape.Allocate(rows, g);
            Projected = tape.Allocate(rows, g);
            TimeMajorInput = Input.Value;
            if (BatchFirst)
            {
                TimeMajorInput = tape.Allocate(rows, features);
                SwapLeadingDimensions(Input.Value.Span, TimeMajorInput.Span, bsz, steps, features);
            }
            Gemm.Multiply(false, true, rows, g, features, 1f, TimeMajorInput.Span, features, WeightIh.Value.Span, features, 0f, Projected.Span, g);
            if (training)
            {
                (IhMean, IhInvStd, HhMean, HhInvStd) = (tape.Allocate(steps, g), tape.Allocate(steps, g), tape.Allocate(steps, g), tape.Allocate(steps, g));
                (CMean, CInvStd) = (tape.Allocate(steps, hd), tape.Allocate(steps, hd));
            }
            var yih = tape.Allocate(bsz, g);
            var yhh = tape.Allocate(bsz, g);
            var yc = tape.Allocate(bsz, hd);
            var h = Packed.Span;
            var c = CSlots.Span;
            if (H0 is null) h[..(bsz * hd)].Clear(); else H0.Value.Span.CopyTo(h);
            if (C0 is null) c[..(bsz * hd)].Clear(); else C0.Value.Span.CopyTo(c);
            int n = bsz * hd, ng = bsz * g;
            var pins = new RecurrentPins();
            try
            {
                float* ph = pins.Pin(Packed), pc = pins.Pin(CSlots), pg = pins.Pin(Gates), ptc = pins.Pin(TanhC), pyih = pins.Pin(yih), pyhh = pins.Pin(yhh), pyc = pins.Pin(yc);
                float* pBias = pins.Pin(Bias);
                for (int t = 0; t < steps; t++)
                {
                    int s = StatisticsStep(t);
                    var hPrev = Packed.Span.Slice(t * n, n);
                    var hpT = Hp.Span.Slice(t * ng, ng);
                    Gemm.Multiply(false, true, bsz, g, hd, 1f, hPrev, hd, WeightHh.Value.Span, hd, 0f, hpT, g);
                    Normalize(0, Projected.Span.Slice(t * ng, ng), Norms.IhWeight, null, yih.Span, IhMean, IhInvStd, t, s, g);
                    Normalize(1, hpT, Norms.HhWeight, null, yhh.Span, HhMean, HhInvStd, t, s, g);
                    BnLstmRows.Gates(bsz, hd, pyih, pyhh, pBias, pc + (nint)t * n, pg + (nint)t * ng, pc + (nint)(t + 1) * n);
                    Normalize(2, CSlots.Span.Slice((t + 1) * n, n), Norms.CWeight, Norms.CBias, yc.Span, CMean, CInvStd, t, s, hd);
                    BnLstmRows.Output(bsz, hd, pyc, pg + (nint)t * ng, ptc + (nint)t * n, ph + (nint)(t + 1) * n);
                    if (hiddenNorms is not null)
                    {
                        double total = 0;
                        for (int b = 0; b < bsz; b++) total += Math.Sqrt(ElementwiseKernels.SumSquares(Packed.Span.Slice((t + 1) * n + b * hd, hd)));
                        hiddenNorms[t] = total / bsz;
                    }
                }
            }
            finally
            {
                pins.Dispose();
            }
            c.Slice(steps * n, n).CopyTo(Packed.Span.Slice((steps + 1) * n, n));
        }

        /// <summary>One batch normalization of time step t: with batch statistics (kept, and folded into step s's running ones) or step s's running ones.</summary>
        private void Normalize(int which, ReadOnlySpan<float> x, Variable weight, Variable? bias, Span<float> y, Tensor? mean, Tensor? invStd, int t, int s, int channels)
        {
            var runMean = Norms.RunningMean[which][s].Span;
            var runVar = Norms.RunningVar[which][s].Span;
            var w = weight.Value.Span;
            var b = bias is null ? ReadOnlySpan<float>.Empty : bias.Value.Span;
            if (Norms.Training)
                BatchNormKernels.ForwardTraining(x, w, b, y, mean!.Span.Slice(t * channels, channels), invStd!.Span.Slice(t * channels, channels),
                    runMean, runVar, Batch, channels, 1, BnLstmEps, Norms.Momentum);
            else
                BatchNormKernels.ForwardInference(x, w, b, runMean, runVar, y, Batch, channels, 1, BnLstmEps);
        }

        internal override unsafe void Backward(Tape tape)
        {
            int bsz = Batch, hd = Hidden, g = 4 * hd, steps = Steps, rows = bsz * steps, n = bsz * hd, ng = bsz * g;
            var dOut = Output.Grad!;
            var dProjected = tape.Allocate(rows, g);
            var dHp = tape.Allocate(rows, g);
            var dGates = tape.Allocate(rows, g);
            var dh = tape.Allocate(bsz, hd);
            var dhRec = tape.Allocate(bsz, hd);
            var dc = tape.Allocate(bsz, hd);
            var dcNorm = tape.Allocate(bsz, hd);
            var dyc = tape.Allocate(bsz, hd);
            // Parameter gradients of the normalizations, summed over the steps in reverse time order.
            var dIhW = tape.Allocate(g);
            var dHhW = tape.Allocate(g);
            var dCW = tape.Allocate(hd);
            var dCB = tape.Allocate(hd);
            var stepW = tape.Allocate(g);
            var stepB = tape.Allocate(g);
            dIhW.Span.Clear();
            dHhW.Span.Clear();
            dCW.Span.Clear();
            dCB.Span.Clear();
            dhRec.Span.Clear();
            dOut.Span.Slice((steps + 1) * n, n).CopyTo(dc.Span);
            var pins = new RecurrentPins();
            try
            {
                float* pg = pins.Pin(Gates), ptc = pins.Pin(TanhC), pc = pins.Pin(CSlots), pdh = pins.Pin(dh), pdg = pins.Pin(dGates);
                float* pdc = pins.Pin(dc), pdcn = pins.Pin(dcNorm);
                for (int t = steps - 1; t >= 0; t--)
                {
                    int s = StatisticsStep(t);
                    ElementwiseKernels.Add(dOut.Span.Slice((t + 1) * n, n), dhRec.Span, dh.Span);
                    BnLstmRows.OutputBackward(bsz, hd, pg + (nint)t * ng, ptc + (nint)t * n, pdh, pdg + (nint)t * ng);
                    // dh now holds the gradient of BN(c'); back through it to c'.
                    NormalizeBackward(2, dh.Span, CSlots.Span.Slice((t + 1) * n, n), Norms.CWeight, dcNorm.Span, stepW.Span[..hd], stepB.Span[..hd], CMean, CInvStd, t, s, hd);
                    ElementwiseKernels.AddInPlace(dCW.Span, stepW.Span[..hd]);
                    ElementwiseKernels.AddInPlace(dCB.Span, stepB.Span[..hd]);
                    BnLstmRows.CellBackward(bsz, hd, pg + (nint)t * ng, pc + (nint)t * n, pdcn, pdc, pdg + (nint)t * ng);
                    var dgT = dGates.Span.Slice(t * ng, ng);
                    NormalizeBackward(1, dgT, Hp.Span.Slice(t * ng, ng), Norms.HhWeight, dHp.Span.Slice(t * ng, ng), stepW.Span, default, HhMean, HhInvStd, t, s, g);
                    ElementwiseKernels.AddInPlace(dHhW.Span, stepW.Span);
                    NormalizeBackward(0, dgT, Projected.Span.Slice(t * ng, ng), Norms.IhWeight, dProjected.Span.Slice(t * ng, ng), stepW.Span, default, IhMean, IhInvStd, t, s, g);
                    ElementwiseKernels.AddInPlace(dIhW.Span, stepW.Span);
                    Gemm.Multiply(false, false, bsz, hd, g, 1f, dHp.Span.Slice(t * ng, ng), g, WeightHh.Value.Span, hd, 0f, dhRec.Span, hd);
                }
            }
            finally
            {
                pins.Dispose();
            }
            if (H0 is not null && tape.GradientFor(H0) is { } gh)
            {
                ElementwiseKernels.Add(dhRec.Span, dOut.Span[..n], gh.Buffer.Span);
                gh.Commit();
            }
            if (C0 is not null && tape.GradientFor(C0) is { } gc)
            {
                dc.Span.CopyTo(gc.Buffer.Span);
                gc.Commit();
            }
            Accumulate(tape, Norms.IhWeight, dIhW);
            Accumulate(tape, Norms.HhWeight, dHhW);
            Accumulate(tape, Norms.CWeight, dCW);
            Accumulate(tape, Norms.CBias, dCB);
            if (tape.GradientForAccumulatingKernel(Bias, out bool accB) is { } db)
                ElementwiseKernels.SumOverRows(dGates.Span, db.Span, rows, g, accB);
            if (tape.GradientForAccumulatingKernel(WeightHh, out bool accW) is { } dw)
                Gemm.Multiply(true, false, g, hd, rows, 1f, dHp.Span, g, Packed.Span[..(rows * hd)], hd, accW ? 1f : 0f, dw.Span, hd);
            int features = WeightIh.Value.Dim(1);
            InputWeightGradient(tape, WeightIh, TimeMajorInput, dProjected, rows, features, g);
            if (tape.GradientFor(Input) is { } gx)
            {
                var dx = BatchFirst ? tape.Allocate(rows, features) : gx.Buffer;
                Gemm.Multiply(false, false, rows, features, g, 1f, dProjected.Span, g, WeightIh.Value.Span, features, 0f, dx.Span, features);
                if (BatchFirst) SwapLeadingDimensions(dx.Span, gx.Buffer.Span, steps, bsz, features);
                gx.Commit();
            }
        }

        private void NormalizeBackward(int which, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Variable weight, Span<float> dx, Span<float> dweight, Span<float> dbias,
            Tensor? mean, Tensor? invStd, int t, int s, int channels)
        {
            if (Norms.Training)
                BatchNormKernels.BackwardTraining(dy, x, weight.Value.Span, mean!.Span.Slice(t * channels, channels), invStd!.Span.Slice(t * channels, channels),
                    dx, dweight, dbias, Batch, channels, 1);
            else
                BatchNormKernels.BackwardInference(dy, x, weight.Value.Span, Norms.RunningMean[which][s].Span, Norms.RunningVar[which][s].Span,
                    dx, dweight, dbias, Batch, channels, 1, BnLstmEps);
        }

        private static void Accumulate(Tape tape, Variable v, Tensor sum)
        {
            if (tape.GradientFor(v) is not { } target) return;
            sum.Span.CopyTo(target.Buffer.Span);
            target.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            Input = WeightIh = WeightHh = Bias = null!;
            H0 = C0 = null;
            Norms = null!;
            Packed = TimeMajorInput = Projected = Hp = Gates = CSlots = TanhC = null!;
            IhMean = IhInvStd = HhMean = HhInvStd = CMean = CInvStd = null!;
        }
    }
}
