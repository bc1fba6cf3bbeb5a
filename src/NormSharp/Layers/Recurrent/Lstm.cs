using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// A multi-layer LSTM mirroring PyTorch's <c>nn.LSTM</c> (gate order i, f, g, o; names and layouts of its state dict;
/// <see cref="RecurrentStack.Run"/> returns the output and (h_n, c_n)).
/// </summary>
public sealed class Lstm : RecurrentStack
{
    /// <summary>Creates the stack; the arguments are <c>nn.LSTM</c>'s (without proj_size).</summary>
    public Lstm(int inputSize, int hiddenSize, Rng rng, int numLayers = 1, bool bias = true, bool batchFirst = false, float dropout = 0f, bool bidirectional = false)
        : base("Lstm", 4, inputSize, hiddenSize, rng, numLayers, bias, batchFirst, dropout, bidirectional) { }

    private protected override bool HasCellState => true;

    private protected override RecurrentSequence RunDirection(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, Variable? c0, bool reverse, bool batchFirst) =>
        F.LstmSequence(input, weightIh, biasIh, weightHh, biasHh, h0, c0, null, reverse, batchFirst);
}
