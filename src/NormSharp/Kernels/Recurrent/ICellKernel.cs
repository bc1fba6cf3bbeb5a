using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The per-row arithmetic of one recurrent cell inside <see cref="SequenceKernel{TCell}"/>: what follows the recurrent
/// product hp = W_hh·h of a time step (the gate nonlinearities, normalizations and state update), and its backward.
/// The driver owns the time loop, the states, the recurrent products and the split of the batch over threads; a cell
/// only sees the rows of one chunk at one time step. A cell holds pointers to its own inputs and workspace.
/// </summary>
internal unsafe interface ICellKernel<TSelf> where TSelf : struct, ICellKernel<TSelf>
{
    /// <summary>Blocks of H units in a row of gates (1 for a tanh RNN, 3 for a GRU, 4 for an LSTM).</summary>
    static abstract int GateBlocks { get; }

    /// <summary>Whether the cell carries a cell state c besides h.</summary>
    static abstract bool HasCellState { get; }

    /// <summary>Whether the backward needs hp of every step (then the driver keeps it in the workspace).</summary>
    static abstract bool KeepsRecurrentProduct { get; }

    /// <summary>Whether the backward needs the projected input W_ih·x of every step (then the driver keeps it).</summary>
    static abstract bool KeepsProjectedInput { get; }

    /// <summary>
    /// Whether the gradient with respect to hp equals the one with respect to the projected input (no normalization
    /// and no gate between them), so one buffer serves both.
    /// </summary>
    static abstract bool RecurrentGradientIsInputGradient { get; }

    /// <summary>Whether h depends on the previous h directly, besides through hp (GRU): the backward then writes that part of dh_prev itself.</summary>
    static abstract bool DirectHiddenPath { get; }

    /// <summary>Floats per chunk row the cell needs for its temporaries.</summary>
    int TemporaryFloatsPerRow { get; }

    /// <summary>Floats of per-chunk partial sums (parameter gradients) the backward adds to.</summary>
    int PartialFloats { get; }

    /// <summary>
    /// Finishes one time step for rows [b0, b0 + rows) of the batch: from hp (rows × gates) and the
    /// previous state, writes the next h (and c) and whatever the backward needs.
    /// </summary>
    void Forward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>;

    /// <summary>
    /// The backward of one time step for the chunk's rows: from dh (and the cell-state gradient in <c>DcRec</c>) writes
    /// the gradient of hp into <c>DHp</c>, of the projected input, the parameter partials, dc_prev into <c>DcRec</c> and,
    /// for cells with <see cref="DirectHiddenPath"/>, the direct part of dh_prev into <c>DhRec</c>.
    /// </summary>
    void Backward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>;
}

/// <summary>The rows of one chunk at one time step, as the driver hands them to a cell (rows are contiguous, stride H or gates).</summary>
internal unsafe struct StepRows
{
    /// <summary>Time index of the step (0..T−1) and the chunk's first batch row.</summary>
    public int Time, B0, Rows;

    /// <summary>Row of (time, b0) in time-major [T·B, ...] arrays: Time·B + B0.</summary>
    public nint Row;

    /// <summary>h and c before and after the step, rows × H.</summary>
    public float* HPrev, HNext, CPrev, CNext;

    /// <summary>The recurrent product W_hh·h_prev of the step, rows × gates.</summary>
    public float* Hp;

    /// <summary>The step's projected input W_ih·x_t (no bias), rows × gates; in the backward only for cells that keep it.</summary>
    public float* X;

    /// <summary>Backward: dh of the step (rows × H), dh_prev direct part (rows × H), dc (in: of c_t, out: of c_prev).</summary>
    public float* Dh, DhRec, DcRec;

    /// <summary>Backward: where the gradient of hp goes, rows × gates.</summary>
    public float* DHp;

    /// <summary>The chunk's parameter-gradient partials.</summary>
    public float* Partials;

    /// <summary>The cell's temporaries for these rows.</summary>
    public float* Temp;

    /// <summary>Whether the forward keeps what the backward needs.</summary>
    public bool Record;
}
