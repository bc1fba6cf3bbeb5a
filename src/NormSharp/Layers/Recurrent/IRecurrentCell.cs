using NormSharp.Autograd;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// One recurrent cell: the input projection of all time steps is computed up front (one GEMM), then
/// <see cref="Step"/> advances the state one time step at a time.
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
    (Variable H, Variable? C) Step(Variable projected, Variable h, Variable? c, int t);
}
