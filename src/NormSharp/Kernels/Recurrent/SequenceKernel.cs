using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;
using NormSharp.Threading;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The states and buffers of one recurrent sequence as the driver sees them. Hidden states live in slots of B rows:
/// with <see cref="KeepAll"/>, slot 0 holds the initial state and slot s the state after s steps in the forward
/// direction; in reverse the slots are in time order with the initial state last (slot T − s after s steps), so in
/// both directions the outputs at times 0..T−1 are consecutive slots and so are the states each step started from.
/// Without <see cref="KeepAll"/> (no backward will follow and only the last state is wanted) the states ping-pong in
/// chunk scratch and <see cref="HSlots"/> receives the final h only.
/// </summary>
internal unsafe struct SequenceState
{
    public int Steps, Batch, Hidden, GateWidth;
    public bool Reverse, KeepAll, Record;

    /// <summary>[(T + 1)·B, H] with <see cref="KeepAll"/>, else [B, H] for the final h.</summary>
    public float* HSlots;

    /// <summary>[(T + 1)·B, H] cell states when recording (same slots as h), else null.</summary>
    public float* CSlots;

    /// <summary>[B, H] final cell state (cells with one).</summary>
    public float* CFinal;

    /// <summary>Initial states [B, H], or null for zeros.</summary>
    public float* H0, C0;

    /// <summary>hp of every step, [T·B, gates], when recording a cell that keeps it.</summary>
    public float* HpAll;

    /// <summary>
    /// The layer's input (null when the projected input is given): row (t, b) at Input + t·InputTimeStride + b·InputRowStride,
    /// <see cref="InputWidth"/> features, projected at each step by <see cref="InputWeight"/> (W_ih packed as op = W_ihᵀ).
    /// </summary>
    public float* Input;
    public nint InputTimeStride, InputRowStride;
    public int InputWidth;
    public PackedRecurrentWeight InputWeight;

    /// <summary>
    /// The projected input W_ih·x_t of every step, [T·B, gates] time-major: given (a step op's input), or filled as the steps
    /// run when recording a cell whose backward reads it; null otherwise (each step's projection then lives in chunk scratch).
    /// </summary>
    public float* ProjectedAll;

    /// <summary>Mean L2 norm of h per step, as per-chunk sums [chunks, T] (null: not wanted).</summary>
    public double* Norms;

    /// <summary>Backward: gradients of the h slots from <see cref="DhFirstSlot"/> on (<see cref="DhSlotCount"/> of them; others are zero).</summary>
    public float* DhSlots;
    public int DhFirstSlot, DhSlotCount;

    /// <summary>Backward: gradient of the final cell state (null: zero).</summary>
    public float* DcFinal;

    /// <summary>Backward: gradient of hp for every step, [T·B, gates].</summary>
    public float* DHpAll;

    /// <summary>Backward: where dh0 and dc0 go (null: not wanted).</summary>
    public float* DH0, DC0;

    /// <summary>Backward: per-chunk parameter partials, chunk c at c·partialFloats.</summary>
    public float* Partials;

    /// <summary>The slot of the state after s steps (with <see cref="KeepAll"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int Slot(int s) => Reverse ? Steps - s : s;

    /// <summary>The time index of step s (1..T).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int TimeOf(int s) => Reverse ? Steps - s : s - 1;
}

/// <summary>
/// Runs a recurrent cell over a whole sequence as one kernel. Samples of a batch never interact inside a recurrent
/// layer, so the batch is cut into chunks of rows (fixed by the batch size alone) and each chunk runs every time
/// step on its own: one parallel region per sequence rather than one per step, the recurrent weight packed once and
/// read from each core's L2, and the step's product and its epilogue (<typeparamref name="TCell"/>) on rows already
/// in cache. The backward runs the chunks through time in reverse the same way and leaves the gradient of W_hh to one
/// product over all steps at the end (as cuDNN does). Every value a chunk computes depends only on its rows, and the
/// per-chunk partial sums are added in chunk order, so results are the same on any thread count and at every width.
/// </summary>
internal static unsafe class SequenceKernel<TCell> where TCell : struct, ICellKernel<TCell>
{
    /// <summary>Batch rows per chunk (at least): two register tiles of the GEMM at 512 bits.</summary>
    public const int RowGrain = 16;

    /// <summary>The number of chunks a batch of <paramref name="batch"/> rows is cut into (the partial sums' layout).</summary>
    public static int Chunks(int batch) => ParallelFor.ChunkCount(batch, RowGrain);

    /// <summary>Packs W_hh [gates, H] for the forward (op = W_hhᵀ) or backward (op = W_hh) into the calling thread's scratch.</summary>
    public static PackedRecurrentWeight PackWeight(float* weightHh, int hidden, bool forBackward)
    {
        int g = TCell.GateBlocks * hidden;
        var work = new PackWork { W = weightHh, Ld = hidden, K = forBackward ? g : hidden, N = forBackward ? hidden : g, Transposed = !forBackward };
        Widths.Dispatch(ref work);
        return work.Result;
    }

    /// <summary>Packs W_ih [gates, I] for the forward's input projections (op = W_ihᵀ) into the calling thread's scratch.</summary>
    public static PackedRecurrentWeight PackInputWeight(float* weightIh, int features, int hidden)
    {
        var work = new PackWork { W = weightIh, Ld = features, K = features, N = TCell.GateBlocks * hidden, Transposed = true, Input = true };
        Widths.Dispatch(ref work);
        return work.Result;
    }

    private struct PackWork : IWidthGeneric
    {
        public float* W;
        public int Ld, K, N;
        public bool Transposed, Input;
        public PackedRecurrentWeight Result;

        public void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            long floats = PackedRecurrentWeight.Floats<TV>(K, N);
            float* dst = Input ? RecurrentScratch.InputWeights(floats) : RecurrentScratch.Weights(floats);
            Result = PackedRecurrentWeight.Pack<TV>(Transposed, W, Ld, K, N, dst);
        }
    }

    /// <summary>Runs the forward over every chunk.</summary>
    public static void Forward(ref SequenceState state, TCell cell, PackedRecurrentWeight weight)
    {
        var body = new ForwardBody { State = state, Cell = cell, W = weight, Chunks = Chunks(state.Batch) };
        WidthParallel.RunChunks(state.Batch, body.Chunks, ref body);
    }

    /// <summary>Runs the backward over every chunk (the forward must have run with <see cref="SequenceState.Record"/>).</summary>
    public static void Backward(ref SequenceState state, TCell cell, PackedRecurrentWeight weight)
    {
        var body = new BackwardBody { State = state, Cell = cell, W = weight, Chunks = Chunks(state.Batch) };
        WidthParallel.RunChunks(state.Batch, body.Chunks, ref body);
    }

    private struct ForwardBody : IParallelWidthBody
    {
        public SequenceState State;
        public TCell Cell;
        public PackedRecurrentWeight W;
        public int Chunks;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV> => Run<TV>(chunk, start, end);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Run<TV>(int chunk, int b0, int b1) where TV : unmanaged, IFloatVector<TV>
        {
            var st = State;
            int rows = b1 - b0, hd = st.Hidden, g = st.GateWidth, bsz = st.Batch, steps = st.Steps;
            nint rowH = (nint)rows * hd;
            bool cellState = TCell.HasCellState;
            int gemmFloats = PackedRecurrentWeight.ScratchFloats<TV>();
            long floats = gemmFloats + 2L * rows * g + 4 * rowH + (long)rows * Cell.TemporaryFloatsPerRow + 64;
            float* scratch = RecurrentScratch.Chunk(floats);
            float* gemm = scratch;
            float* hpTemp = gemm + gemmFloats;
            float* xTemp = hpTemp + (nint)rows * g;
            float* ping = xTemp + (nint)rows * g;        // two h buffers, then two c buffers
            float* temp = ping + 4 * rowH;

            float* hInit = st.KeepAll ? st.HSlots + ((nint)st.Slot(0) * bsz + b0) * hd : ping;
            CopyOrZero(st.H0 == null ? null : st.H0 + (nint)b0 * hd, hInit, rowH);
            float* cInit = null;
            if (cellState)
            {
                cInit = st.CSlots != null ? st.CSlots + ((nint)st.Slot(0) * bsz + b0) * hd : ping + 2 * rowH;
                CopyOrZero(st.C0 == null ? null : st.C0 + (nint)b0 * hd, cInit, rowH);
            }
            var rowsInfo = new StepRows { B0 = b0, Rows = rows, Temp = temp, Record = st.Record };
            float* hPrev = hInit, cPrev = cInit;
            for (int s = 1; s <= steps; s++)
            {
                int t = st.TimeOf(s);
                nint row = (nint)t * bsz + b0;
                float* hNext = st.KeepAll ? st.HSlots + ((nint)st.Slot(s) * bsz + b0) * hd
                    : s == steps ? st.HSlots + (nint)b0 * hd : ping + (s & 1) * rowH;
                float* cNext = null;
                if (cellState)
                    cNext = st.CSlots != null ? st.CSlots + ((nint)st.Slot(s) * bsz + b0) * hd
                        : s == steps ? st.CFinal + (nint)b0 * hd : ping + (2 + (s & 1)) * rowH;
                float* x = st.ProjectedAll != null ? st.ProjectedAll + row * g : xTemp;
                // The step's input projection for the chunk's rows (the same chain per element however the sequence is cut).
                if (st.Input != null)
                    st.InputWeight.Multiply<TV>(rows, st.Input + t * st.InputTimeStride + b0 * st.InputRowStride, st.InputRowStride, x, g, false, gemm);
                float* hp = st.HpAll != null ? st.HpAll + row * g : hpTemp;
                W.Multiply<TV>(rows, hPrev, hd, hp, g, false, gemm);
                rowsInfo.X = x;
                rowsInfo.Time = t;
                rowsInfo.Row = row;
                rowsInfo.HPrev = hPrev;
                rowsInfo.HNext = hNext;
                rowsInfo.CPrev = cPrev;
                rowsInfo.CNext = cNext;
                rowsInfo.Hp = hp;
                Cell.Forward<TV>(rowsInfo);
                if (st.Norms != null) st.Norms[(nint)chunk * steps + (s - 1)] = RowNormSum(hNext, rows, hd);
                hPrev = hNext;
                cPrev = cNext;
            }
            if (cellState && st.CSlots != null)
                new Span<float>(cPrev, (int)rowH).CopyTo(new Span<float>(st.CFinal + (nint)b0 * hd, (int)rowH));
        }
    }

    private struct BackwardBody : IParallelWidthBody
    {
        public SequenceState State;
        public TCell Cell;
        public PackedRecurrentWeight W;
        public int Chunks;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV> => Run<TV>(chunk, start, end);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Run<TV>(int chunk, int b0, int b1) where TV : unmanaged, IFloatVector<TV>
        {
            var st = State;
            int rows = b1 - b0, hd = st.Hidden, g = st.GateWidth, bsz = st.Batch, steps = st.Steps;
            nint rowH = (nint)rows * hd;
            bool cellState = TCell.HasCellState;
            int gemmFloats = PackedRecurrentWeight.ScratchFloats<TV>();
            long floats = gemmFloats + 3 * rowH + (long)rows * Cell.TemporaryFloatsPerRow + 64;
            float* scratch = RecurrentScratch.Chunk(floats);
            float* gemm = scratch;
            float* dh = gemm + gemmFloats;
            float* dhRec = dh + rowH;
            float* dcRec = dhRec + rowH;
            float* temp = dcRec + rowH;
            new Span<float>(dhRec, (int)rowH).Clear();
            if (cellState) CopyOrZero(st.DcFinal == null ? null : st.DcFinal + (nint)b0 * hd, dcRec, rowH);

            var rowsInfo = new StepRows
            {
                B0 = b0, Rows = rows, Temp = temp, Record = true, Dh = dh, DhRec = dhRec, DcRec = dcRec,
                Partials = st.Partials == null ? null : st.Partials + (nint)chunk * Cell.PartialFloats,
            };
            for (int s = steps; s >= 1; s--)
            {
                int t = st.TimeOf(s);
                nint row = (nint)t * bsz + b0;
                float* dOut = SlotGradient(st, st.Slot(s), b0);
                if (dOut != null) ElementwiseKernels.Add(new ReadOnlySpan<float>(dOut, (int)rowH), new ReadOnlySpan<float>(dhRec, (int)rowH), new Span<float>(dh, (int)rowH));
                else new Span<float>(dhRec, (int)rowH).CopyTo(new Span<float>(dh, (int)rowH));
                rowsInfo.Time = t;
                rowsInfo.Row = row;
                rowsInfo.HPrev = st.HSlots + ((nint)st.Slot(s - 1) * bsz + b0) * hd;
                rowsInfo.HNext = st.HSlots + ((nint)st.Slot(s) * bsz + b0) * hd;
                if (cellState)
                {
                    rowsInfo.CPrev = st.CSlots + ((nint)st.Slot(s - 1) * bsz + b0) * hd;
                    rowsInfo.CNext = st.CSlots + ((nint)st.Slot(s) * bsz + b0) * hd;
                }
                rowsInfo.Hp = st.HpAll != null ? st.HpAll + row * g : null;
                rowsInfo.X = st.ProjectedAll != null ? st.ProjectedAll + row * g : null;
                rowsInfo.DHp = st.DHpAll + row * g;
                Cell.Backward<TV>(rowsInfo);
                // dh_prev = dHp·W_hh (added to the direct part the cell wrote, for a GRU).
                W.Multiply<TV>(rows, rowsInfo.DHp, g, dhRec, hd, TCell.DirectHiddenPath, gemm);
            }
            if (st.DH0 != null)
            {
                var dst = new Span<float>(st.DH0 + (nint)b0 * hd, (int)rowH);
                float* dOut = SlotGradient(st, st.Slot(0), b0);
                if (dOut != null) ElementwiseKernels.Add(new ReadOnlySpan<float>(dOut, (int)rowH), new ReadOnlySpan<float>(dhRec, (int)rowH), dst);
                else new Span<float>(dhRec, (int)rowH).CopyTo(dst);
            }
            if (cellState && st.DC0 != null)
                new Span<float>(dcRec, (int)rowH).CopyTo(new Span<float>(st.DC0 + (nint)b0 * hd, (int)rowH));
        }
    }

    /// <summary>The upstream gradient of a slot's rows from b0 on, or null when that slot has none.</summary>
    private static float* SlotGradient(in SequenceState st, int slot, int b0)
    {
        if (st.DhSlots == null || slot < st.DhFirstSlot || slot >= st.DhFirstSlot + st.DhSlotCount) return null;
        return st.DhSlots + ((nint)(slot - st.DhFirstSlot) * st.Batch + b0) * st.Hidden;
    }

    private static void CopyOrZero(float* source, float* destination, nint count)
    {
        var dst = new Span<float>(destination, (int)count);
        if (source == null) dst.Clear();
        else new ReadOnlySpan<float>(source, (int)count).CopyTo(dst);
    }

    /// <summary>Σ over rows of the row's L2 norm (each row's sum of squares in the kernels' fixed order): the hidden-state dynamics a trainer reports.</summary>
    private static double RowNormSum(float* h, int rows, int hidden)
    {
        double total = 0;
        for (int r = 0; r < rows; r++) total += Math.Sqrt(ElementwiseKernels.SumSquares(new ReadOnlySpan<float>(h + (nint)r * hidden, hidden)));
        return total;
    }
}
