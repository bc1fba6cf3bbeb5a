using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Kernels.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// The node of a fused recurrent layer (or of one fused step): its forward projects every time step's input with one
    /// GEMM and runs <see cref="SequenceKernel{TCell}"/> over all time steps; its backward runs the kernel's backward
    /// through time and then takes the gradients of W_hh and W_ih each as one product over all steps. The cell-specific
    /// parts (parameters, workspace, parameter gradients) are the subclass's. In step mode the node is one time step from
    /// an already projected input and a state variable ([2, B, H] for LSTMs, [B, H] otherwise) to the next state, a view
    /// of the packed result.
    /// </summary>
    private abstract unsafe class SequenceNode<TCell> : Node where TCell : struct, ICellKernel<TCell>
    {
        /// <summary>Layer mode: the input [T, B, I] (or [B, T, I] batch-first) and its projection's weight and bias.</summary>
        public Variable? Input, WeightIh, BiasIh;

        /// <summary>Step mode: the projected input [B, gates].</summary>
        public Variable? ProjectedInput;

        public Variable WeightHh = null!;
        public Variable? H0, C0, State;
        public Tensor Packed = null!;

        /// <summary>The projected input of every step, [T·B, gates]: a step op's input, or kept for a cell whose backward reads it.</summary>
        public Tensor? Projected;

        /// <summary>Layer mode: the input in time-major rows [T·B, I] (the input itself, or a copy of a batch-first one).</summary>
        public Tensor? TimeMajorInput;
        public Tensor? CSlots, HpAll;
        public int Steps, Batch, Hidden;
        public bool Reverse, StepMode, KeepAll, BatchFirst;

        /// <summary>Sets the inputs common to every cell (layer mode when <paramref name="input"/> is given, else step mode).</summary>
        public void ConfigureInputs(Variable? input, Variable? weightIh, Variable? biasIh, Variable? projected, Variable weightHh,
            int steps, int batch, int hidden, bool reverse, bool batchFirst, bool keepAll)
        {
            (Input, WeightIh, BiasIh, ProjectedInput, WeightHh) = (input, weightIh, biasIh, projected, weightHh);
            (Steps, Batch, Hidden, Reverse, BatchFirst, KeepAll) = (steps, batch, hidden, reverse, batchFirst, keepAll);
            StepMode = input is null;
            (State, H0, C0) = (null, null, null);
        }

        protected int GateWidth => TCell.GateBlocks * Hidden;

        /// <summary>The cell kernel over pinned tensors; <paramref name="dProjected"/> is null in the forward.</summary>
        protected abstract TCell Kernel(ref RecurrentPins pins, bool backward, float* dProjected);

        /// <summary>The cell's own workspace for the backward (called when recording).</summary>
        protected abstract void AllocateWorkspace(Tape tape);

        /// <summary>
        /// Gradients of the cell's parameters other than the weights: <paramref name="dHpAll"/> is dhp of every step [T·B, gates],
        /// <paramref name="dProjected"/> the gradient of the projected input, <paramref name="partials"/> the kernel's per-chunk partial sums.
        /// </summary>
        protected abstract void ParameterGradients(Tape tape, Tensor dHpAll, Tensor dProjected, float* partials, int chunks);

        /// <summary>Drops the cell's references.</summary>
        protected abstract void ClearCell();

        /// <summary>Allocates the result (and, when recording, the workspace) and runs the forward over every time step.</summary>
        public void RunForward(Tape tape, bool record, double[]? norms)
        {
            int g = GateWidth, bsz = Batch, hd = Hidden, steps = Steps;
            bool cell = TCell.HasCellState;
            int slots = KeepAll ? steps + 1 : 1;
            Packed = tape.Allocate(slots * bsz + (cell ? bsz : 0), hd);
            // The input is projected inside the kernel, step by step for each chunk's rows: kept for the backward only
            // when the cell reads it there; a batch-first input is read in place unless the backward needs it time-first.
            int features = 0;
            Projected = ProjectedInput?.Value;
            TimeMajorInput = null;
            if (Input is { } input)
            {
                features = WeightIh!.Value.Dim(1);
                Projected = record && TCell.KeepsProjectedInput ? tape.Allocate(steps * bsz, g) : null;
                TimeMajorInput = BatchFirst && record ? tape.Allocate(steps * bsz, features) : (BatchFirst ? null : input.Value);
                if (BatchFirst && record) SwapLeadingDimensions(input.Value.Span, TimeMajorInput!.Span, bsz, steps, features);
            }
            if (record)
            {
                CSlots = cell ? tape.Allocate((steps + 1) * bsz, hd) : null;
                HpAll = TCell.KeepsRecurrentProduct ? tape.Allocate(steps * bsz, g) : null;
                AllocateWorkspace(tape);
            }
            var pins = new RecurrentPins();
            try
            {
                float* packed = pins.Pin(Packed);
                var state = new SequenceState
                {
                    Steps = steps, Batch = bsz, Hidden = hd, GateWidth = g, Reverse = Reverse, KeepAll = KeepAll, Record = record,
                    HSlots = packed, CSlots = pins.Pin(CSlots), CFinal = cell ? packed + (nint)slots * bsz * hd : null, HpAll = pins.Pin(HpAll),
                };
                InitialStates(ref pins, out state.H0, out state.C0);
                state.ProjectedAll = pins.Pin(Projected);
                if (Input is { } layerInput)
                {
                    bool inPlace = TimeMajorInput is null;
                    state.Input = inPlace ? pins.Pin(layerInput) : pins.Pin(TimeMajorInput);
                    state.InputTimeStride = inPlace ? features : (nint)bsz * features;
                    state.InputRowStride = inPlace ? (nint)steps * features : features;
                    state.InputWidth = features;
                    state.InputWeight = SequenceKernel<TCell>.PackInputWeight(pins.Pin(WeightIh), features, hd);
                }
                int chunks = SequenceKernel<TCell>.Chunks(bsz);
                if (norms is not null) state.Norms = RecurrentScratch.Norms(chunks * steps);
                var kernel = Kernel(ref pins, backward: false, dProjected: null);
                var weight = SequenceKernel<TCell>.PackWeight(pins.Pin(WeightHh), hd, forBackward: false);
                SequenceKernel<TCell>.Forward(ref state, kernel, weight);
                if (norms is not null)
                    for (int s = 0; s < steps; s++)
                    {
                        double total = 0;
                        for (int c = 0; c < chunks; c++) total += state.Norms[(nint)c * steps + s];
                        norms[s] = total / Math.Max(1, bsz);
                    }
            }
            finally
            {
                pins.Dispose();
            }
        }

        private void InitialStates(ref RecurrentPins pins, out float* h0, out float* c0)
        {
            if (!StepMode)
            {
                h0 = pins.Pin(H0);
                c0 = pins.Pin(C0);
                return;
            }
            h0 = pins.Pin(State);
            c0 = TCell.HasCellState ? h0 + (nint)Batch * Hidden : null;
        }

        internal override void Backward(Tape tape)
        {
            int g = GateWidth, bsz = Batch, hd = Hidden, steps = Steps;
            bool cell = TCell.HasCellState;
            int chunks = SequenceKernel<TCell>.Chunks(bsz);
            var dOut = Output.Grad!;
            var gx = ProjectedInput is null ? null : tape.GradientFor(ProjectedInput);
            var dProjected = gx?.Buffer ?? tape.Allocate(steps * bsz, g);
            // A plain cell's dhp is also the projected input's gradient.
            var dHpAll = TCell.RecurrentGradientIsInputGradient ? dProjected : tape.Allocate(steps * bsz, g);
            GradientTarget? gh0 = null, gc0 = null, gState = null;
            if (StepMode) gState = tape.GradientFor(State!);
            else
            {
                gh0 = H0 is null ? null : tape.GradientFor(H0);
                gc0 = C0 is null ? null : tape.GradientFor(C0);
            }
            float* partials = null;
            var pins = new RecurrentPins();
            try
            {
                float* packed = pins.Pin(Packed);
                float* dOutP = pins.Pin(dOut);
                int slots = steps + 1;
                var state = new SequenceState
                {
                    Steps = steps, Batch = bsz, Hidden = hd, GateWidth = g, Reverse = Reverse, KeepAll = true, Record = true,
                    HSlots = packed, CSlots = pins.Pin(CSlots), HpAll = pins.Pin(HpAll), ProjectedAll = pins.Pin(Projected),
                    DhSlots = dOutP, DhFirstSlot = StepMode ? 1 : 0, DhSlotCount = StepMode ? 1 : slots,
                    DcFinal = cell ? dOutP + (nint)(StepMode ? 1 : slots) * bsz * hd : null,
                    DHpAll = pins.Pin(dHpAll),
                };
                if (StepMode)
                {
                    state.DH0 = gState is { } gs ? pins.Pin(gs.Buffer) : null;
                    state.DC0 = cell && state.DH0 != null ? state.DH0 + (nint)bsz * hd : null;
                }
                else
                {
                    state.DH0 = gh0 is { } a ? pins.Pin(a.Buffer) : null;
                    state.DC0 = gc0 is { } b ? pins.Pin(b.Buffer) : null;
                }
                var kernel = Kernel(ref pins, backward: true, dProjected: pins.Pin(dProjected));
                int partialFloats = kernel.PartialFloats;
                if (partialFloats > 0) state.Partials = partials = RecurrentScratch.Partials((long)chunks * partialFloats);
                var weight = SequenceKernel<TCell>.PackWeight(pins.Pin(WeightHh), hd, forBackward: true);
                SequenceKernel<TCell>.Backward(ref state, kernel, weight);
            }
            finally
            {
                pins.Dispose();
            }
            gx?.Commit();
            gState?.Commit();
            gh0?.Commit();
            gc0?.Commit();
            // dW_hh = Σ_t dhp_tᵀ·h_{t−1}: one product over every step, the states each step started from being
            // consecutive slots (slots 0..T−1 forward, 1..T in reverse).
            if (tape.GradientForAccumulatingKernel(WeightHh, out bool acc) is { } dw)
            {
                var hPrev = Packed.Span.Slice((Reverse ? bsz : 0) * hd, steps * bsz * hd);
                Gemm.Multiply(true, false, g, hd, steps * bsz, 1f, dHpAll.Span, g, hPrev, hd, acc ? 1f : 0f, dw.Span, hd);
            }
            ParameterGradients(tape, dHpAll, dProjected, partials, chunks);
            if (Input is not null) ProjectionGradients(tape, dProjected);
            _rowSumOf = _rowSum = null;
        }

        /// <summary>The gradients of the input projection from that of its result: W_ih, b_ih and the input.</summary>
        private void ProjectionGradients(Tape tape, Tensor dProjected)
        {
            int rows = Steps * Batch, g = GateWidth, features = WeightIh!.Value.Dim(1);
            InputWeightGradient(tape, WeightIh, TimeMajorInput!, dProjected, rows, features, g);
            RowSumGradient(tape, BiasIh, dProjected);
            if (!BatchFirst)
            {
                if (tape.GradientForAccumulatingKernel(Input!, out bool accX) is { } dx)
                    Gemm.Multiply(false, false, rows, features, g, 1f, dProjected.Span, g, WeightIh.Value.Span, features, accX ? 1f : 0f, dx.Span, features);
            }
            else if (tape.GradientFor(Input!) is { } gx)
            {
                var dxTime = tape.Allocate(rows, features);
                Gemm.Multiply(false, false, rows, features, g, 1f, dProjected.Span, g, WeightIh.Value.Span, features, 0f, dxTime.Span, features);
                SwapLeadingDimensions(dxTime.Span, gx.Buffer.Span, Steps, Batch, features);
                gx.Commit();
            }
        }


        private Tensor? _rowSumOf, _rowSum;

        /// <summary>
        /// Σ over every step's rows of <paramref name="rows"/> [T·B, gates] as <paramref name="bias"/>'s gradient (a bias added to
        /// every row). The sum is kept for the rest of the backward, since a plain cell's two biases share it.
        /// </summary>
        protected void RowSumGradient(Tape tape, Variable? bias, Tensor rows)
        {
            if (bias is null || tape.GradientFor(bias) is not { } target) return;
            if (!ReferenceEquals(_rowSumOf, rows))
            {
                _rowSum = tape.Allocate(GateWidth);
                ElementwiseKernels.SumOverRows(rows.Span, _rowSum.Span, Steps * Batch, GateWidth, accumulate: false);
                _rowSumOf = rows;
            }
            _rowSum!.Span.CopyTo(target.Buffer.Span);
            target.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            WeightHh = null!;
            Input = WeightIh = BiasIh = ProjectedInput = null;
            Projected = null!;
            TimeMajorInput = null;
            H0 = C0 = State = null;
            Packed = null!;
            CSlots = HpAll = null;
            ClearCell();
        }
    }

    /// <summary>
    /// dW_ih from the time-major input X [rows, I] and the gradient of its projection dP [rows, gates], taken as
    /// dW_ihᵀ = Xᵀ·dP and added transposed: the other orientation gathers dP's columns into packed slivers, many times
    /// slower for narrow inputs (12 ms against 0.2 ms for I = 12 and 1792 rows). The register-tiled path from 8 features
    /// on (it packs dP once), the streaming one below.
    /// </summary>
    private static void InputWeightGradient(Tape tape, Variable weightIh, Tensor timeMajorInput, Tensor dProjected, int rows, int features, int g)
    {
        if (tape.GradientForAccumulatingKernel(weightIh, out bool acc) is not { } dw) return;
        var dwT = tape.Allocate(features, g);
        Gemm.MultiplyCore(true, false, features, g, rows, 1f, timeMajorInput.Span, features, dProjected.Span, g, 0f, dwT.Span, g,
            features >= 8 ? GemmPath.Packed : GemmPath.Auto);
        AddTransposed(dwT.Span, dw.Span, features, g, acc);
    }

    /// <summary>dst[j, i] = src[i, j] (+ dst[j, i] when accumulating), src being rows × cols.</summary>
    private static void AddTransposed(ReadOnlySpan<float> src, Span<float> dst, int rows, int cols, bool accumulate)
    {
        for (int j = 0; j < cols; j++)
        {
            var row = dst.Slice(j * rows, rows);
            if (accumulate)
                for (int i = 0; i < rows; i++) row[i] += src[i * cols + j];
            else
                for (int i = 0; i < rows; i++) row[i] = src[i * cols + j];
        }
    }

    /// <summary>Writes Σ over chunks (in chunk order) of a partial-sum block as <paramref name="v"/>'s gradient.</summary>
    private static unsafe void PartialGradient(Tape tape, Variable? v, float* partials, int chunks, int stride, int offset, int n)
    {
        if (v is null || tape.GradientFor(v) is not { } target) return;
        var dst = target.Buffer.Span;
        new ReadOnlySpan<float>(partials + offset, n).CopyTo(dst);
        for (int c = 1; c < chunks; c++) ElementwiseKernels.AddInPlace(dst, new ReadOnlySpan<float>(partials + (nint)c * stride + offset, n));
        target.Commit();
    }

    /// <summary>[a, b, inner] → [b, a, inner].</summary>
    private static void SwapLeadingDimensions(ReadOnlySpan<float> src, Span<float> dst, int a, int b, int inner)
    {
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                src.Slice((i * b + j) * inner, inner).CopyTo(dst.Slice((j * a + i) * inner, inner));
    }

    /// <summary>
    /// Validates the common inputs of a sequence op: input [T, B, I] ([B, T, I] batch-first), W_ih [gates, I], b_ih [gates],
    /// W_hh [gates, H], states [B, H].
    /// </summary>
    private static (int Steps, int Batch, int Hidden) SequenceShape(string op, int gateBlocks, Variable input, Variable weightIh, Variable? biasIh,
        Variable weightHh, Variable? h0, Variable? c0, bool batchFirst)
    {
        Tape.CheckAlive(input, op);
        Tape.CheckAlive(weightIh, op);
        Tape.CheckAlive(weightHh, op);
        Tape.CheckAlive(h0, op);
        Tape.CheckAlive(c0, op);
        if (weightHh.Value.Rank != 2 || weightHh.Value.Dim(0) != gateBlocks * weightHh.Value.Dim(1) || weightHh.Value.Dim(1) == 0)
            throw new ShapeMismatchException($"{op}: weight_hh must be [{gateBlocks}·H, H] with H > 0, got {ShapeMismatchException.Format(weightHh.Shape)}.");
        int hidden = weightHh.Value.Dim(1), g = gateBlocks * hidden;
        if (weightIh.Value.Rank != 2 || weightIh.Value.Dim(0) != g || weightIh.Value.Dim(1) == 0)
            throw new ShapeMismatchException($"{op}: weight_ih must be [{g}, I] with I > 0 to match weight_hh {ShapeMismatchException.Format(weightHh.Shape)}, got {ShapeMismatchException.Format(weightIh.Shape)}.");
        CheckVector(op, "bias_ih", biasIh, g);
        int features = weightIh.Value.Dim(1);
        string layout = batchFirst ? "[B, T, I]" : "[T, B, I]";
        if (input.Value.Rank != 3 || input.Value.Dim(2) != features)
            throw new ShapeMismatchException($"{op}: the input must be {layout} with I = {features} (weight_ih {ShapeMismatchException.Format(weightIh.Shape)}), got {ShapeMismatchException.Format(input.Shape)}.");
        int steps = input.Value.Dim(batchFirst ? 1 : 0), batch = input.Value.Dim(batchFirst ? 0 : 1);
        if (steps == 0) throw new ShapeMismatchException($"{op}: the sequence has no time steps (input {ShapeMismatchException.Format(input.Shape)}, {layout}).");
        if (batch == 0) throw new ShapeMismatchException($"{op}: the batch is empty (input {ShapeMismatchException.Format(input.Shape)}, {layout}).");
        CheckState(op, "h0", h0, batch, hidden);
        CheckState(op, "c0", c0, batch, hidden);
        return (steps, batch, hidden);
    }

    private static void CheckState(string op, string name, Variable? v, int batch, int hidden)
    {
        if (v is not null && !v.Shape.SequenceEqual([batch, hidden]))
            throw new ShapeMismatchException($"{op}: {name} must be [{batch}, {hidden}], got {ShapeMismatchException.Format(v.Shape)}.");
    }

    private static void CheckVector(string op, string name, Variable? v, int length)
    {
        Tape.CheckAlive(v, op);
        if (v is not null && (v.Value.Rank != 1 || v.Value.Length != length))
            throw new ShapeMismatchException($"{op}: {name} must be [{length}], got {ShapeMismatchException.Format(v.Shape)}.");
    }

    /// <summary>Runs a configured sequence node's forward and records it (or only wraps its result when nothing needs a gradient).</summary>
    private static RecurrentSequence RunSequence<TCell>(SequenceNode<TCell> node, Tape tape, bool record, bool allOutputs, double[]? norms)
        where TCell : struct, ICellKernel<TCell>
    {
        node.RunForward(tape, record, norms);
        var output = record ? tape.Record(node, node.Packed) : tape.Wrap(node.Packed);
        return new RecurrentSequence(output, node.Steps, node.Batch, node.Hidden, node.Reverse, allOutputs, node.KeepAll, TCell.HasCellState);
    }
}
