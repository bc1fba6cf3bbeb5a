using NormSharp.Autograd;

namespace NormSharp.Layers.Recurrent;

/// <summary>A cell whose whole sequence runs as one fused operation (<see cref="F.LstmSequence"/> and its kin).</summary>
internal interface ISequenceCell : IRecurrentCell
{
    /// <summary>Whether the cell can run its sequence as one operation now (a BN-LSTM estimating statistics steps one at a time).</summary>
    bool RunsAsSequence => true;

    /// <summary>
    /// Runs the cell over <paramref name="input"/> ([T, B, I], or [B, T, I] with <paramref name="batchFirst"/>) from h0 and c0
    /// ([B, H], zeros when null); with <paramref name="reverse"/> from the last time step to the first. The input's first step
    /// is time step <paramref name="firstStep"/> of the whole sequence (which per-step statistics depend on).
    /// <paramref name="norms"/> (length T, or null) receives the mean L2 norm of h at each step.
    /// </summary>
    RecurrentSequence RunSequence(Variable input, Variable? h0, Variable? c0, bool reverse, bool batchFirst, bool allOutputs, double[]? norms, int firstStep = 0);
}
