using NormSharp.Autograd;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// One recurrent cell: the input projection of all time steps is computed up front (one GEMM), then
/// <see cref="Step"/> advances the state one time step at a time. The state is one variable: h [B, H]
/// for RNNs and GRUs, h and c stacked as [2, B, H] for LSTMs (so a fused step has one output).
/// </summary>
public interface IRecurrentCell
{
    /// <summary>Width of the hidden state.</summary>
    int HiddenSize { get; }

    /// <summary>Width of the input.</summary>
    int InputSize { get; }

    /// <summary>Whether the cell carries a cell state c besides h (LSTMs do).</summary>
    bool HasCellState { get; }

    /// <summary>The input projections of every time step at once: [T·B, I] → [T·B, gates].</summary>
    Variable ProjectInputs(Variable inputs);

    /// <summary>One time step from the projected input of step <paramref name="t"/> ([B, gates]) and the previous state.</summary>
    Variable Step(Variable projected, Variable state, int t);
}

/// <summary>Building and reading recurrent states.</summary>
public static class RecurrentState
{
    /// <summary>The initial state of <paramref name="cell"/>: from h0 (and c0), or zeros (<paramref name="zeros"/>, reused between calls when its size fits).</summary>
    public static Variable Initial(IRecurrentCell cell, Variable? h0, Variable? c0, int batch, ref Tensors.Tensor? zeros)
    {
        int hd = cell.HiddenSize;
        if (h0 is null && c0 is null)
        {
            // The zero state is only ever read, so one tensor serves every step and every call.
            int rows = cell.HasCellState ? 2 * batch : batch;
            if (zeros is null || zeros.Length != rows * hd) zeros = Tensors.Tensor.Zeros(rows * hd);
            return cell.HasCellState ? Variable.Constant(zeros.Reshape(2, batch, hd)) : Variable.Constant(zeros.Reshape(batch, hd));
        }
        if (!cell.HasCellState) return h0 ?? Variable.Constant(Tensors.Tensor.Zeros(batch, hd));
        h0 ??= Variable.Constant(Tensors.Tensor.Zeros(batch, hd));
        c0 ??= Variable.Constant(Tensors.Tensor.Zeros(batch, hd));
        return F.Reshape(F.ConcatRows([h0, c0]), 2, batch, hd);
    }

    /// <summary>The hidden state h [B, H] of a state.</summary>
    public static Variable Hidden(IRecurrentCell cell, Variable state) =>
        cell.HasCellState ? F.Reshape(F.NarrowRows(state, 0, 1), state.Value.Dim(1), state.Value.Dim(2)) : state;

    /// <summary>The cell state c [B, H] of an LSTM state.</summary>
    public static Variable Cell(Variable state) => F.Reshape(F.NarrowRows(state, 1, 1), state.Value.Dim(1), state.Value.Dim(2));

    /// <summary>One step of <paramref name="cell"/> from a zero state on inputs [B, I]; returns h.</summary>
    public static Variable SingleStep(IRecurrentCell cell, Variable input)
    {
        if (input.Value.Rank != 2 || input.Value.Dim(1) != cell.InputSize)
            throw new Errors.ShapeMismatchException($"{cell.GetType().Name}: a single step takes [B, {cell.InputSize}], got {Errors.ShapeMismatchException.Format(input.Shape)}.");
        // A fused cell runs the one step as a sequence, exactly as the first step of its layer.
        if (cell is ISequenceCell { RunsAsSequence: true } fused)
            return fused.RunSequence(F.Unsqueeze(input, 0), null, null, reverse: false, batchFirst: false, allOutputs: false, norms: null).FinalHidden();
        Tensors.Tensor? zeros = null;
        var state = Initial(cell, null, null, input.Value.Dim(0), ref zeros);
        return Hidden(cell, cell.Step(cell.ProjectInputs(input), state, 0));
    }

    /// <summary>Stacks h and c into an LSTM state.</summary>
    public static Variable Stack(Variable h, Variable c) => F.Reshape(F.ConcatRows([h, c]), 2, h.Value.Dim(0), h.Value.Dim(1));
}
