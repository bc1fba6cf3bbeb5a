using NormSharp.Errors;

namespace NormSharp.Autograd;

/// <summary>
/// What a fused recurrent sequence operation (<see cref="F.LstmSequence"/>) produced: one recorded node whose output holds every hidden state and the final cell
/// state. The methods return views of it (each call records one view), so a caller that needs only the last state
/// pays for nothing else.
/// </summary>
public readonly struct RecurrentSequence
{
    private readonly int _finalSlot, _outputSlot;
    private readonly bool _allOutputs;

    internal RecurrentSequence(Variable packed, int steps, int batch, int hidden, bool reverse, bool allOutputs, bool keptAll, bool hasCell)
    {
        Packed = packed;
        (Steps, Batch, Hidden, HasCellState, _allOutputs) = (steps, batch, hidden, hasCell, allOutputs);
        // Slots of B rows: with every state kept, the initial state is slot 0 forward and slot T in reverse, and the
        // outputs at times 0..T−1 are T consecutive slots; otherwise the only slot is the final state.
        (_finalSlot, _outputSlot) = !keptAll ? (0, 0) : reverse ? (0, 0) : (steps, 1);
        HiddenSlots = keptAll ? steps + 1 : 1;
    }

    /// <summary>The node's output: <see cref="HiddenSlots"/>·B rows of hidden states, then (LSTMs) B rows of the final cell state; [rows, H].</summary>
    internal Variable Packed { get; }

    /// <summary>Hidden-state slots of B rows in <see cref="Packed"/>.</summary>
    internal int HiddenSlots { get; }

    /// <summary>Time steps.</summary>
    public int Steps { get; }

    /// <summary>Batch size.</summary>
    public int Batch { get; }

    /// <summary>Hidden width.</summary>
    public int Hidden { get; }

    /// <summary>Whether the cell has a cell state (LSTMs).</summary>
    public bool HasCellState { get; }

    /// <summary>h at every time step, [T, B, H] in time order (also for a sequence run in reverse).</summary>
    /// <exception cref="InvalidValueException">The sequence was run with only its last state kept.</exception>
    public Variable Outputs()
    {
        if (!_allOutputs)
            throw new InvalidValueException("allOutputs", "RecurrentSequence: this sequence was run with allOutputs: false, so only its final states exist.");
        return F.Reshape(F.NarrowRows(Packed, _outputSlot * Batch, Steps * Batch), Steps, Batch, Hidden);
    }

    /// <summary>
    /// h at every time step as [T·B, H] rows in time order (row t·B + b), ready for the next layer's input projection.
    /// </summary>
    /// <exception cref="InvalidValueException">The sequence was run with only its last state kept.</exception>
    public Variable OutputRows()
    {
        if (!_allOutputs)
            throw new InvalidValueException("allOutputs", "RecurrentSequence: this sequence was run with allOutputs: false, so only its final states exist.");
        return F.NarrowRows(Packed, _outputSlot * Batch, Steps * Batch);
    }

    /// <summary>The final hidden state [B, H]: after the last time step, or after time 0 for a sequence run in reverse.</summary>
    public Variable FinalHidden() => F.NarrowRows(Packed, _finalSlot * Batch, Batch);

    /// <summary>The final cell state [B, H].</summary>
    /// <exception cref="InvalidValueException">The cell has no cell state.</exception>
    public Variable FinalCell()
    {
        if (!HasCellState) throw new InvalidValueException("cell", "RecurrentSequence: this cell has no cell state.");
        return F.NarrowRows(Packed, HiddenSlots * Batch, Batch);
    }
}
