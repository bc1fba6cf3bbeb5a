using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>A multi-layer GRU mirroring PyTorch's <c>nn.GRU</c> (gate order r, z, n; its state-dict names and layouts).</summary>
public sealed class Gru : RecurrentStack
{
    /// <summary>Creates the stack; the arguments are <c>nn.GRU</c>'s.</summary>
    public Gru(int inputSize, int hiddenSize, Rng rng, int numLayers = 1, bool bias = true, bool batchFirst = false, float dropout = 0f, bool bidirectional = false)
        : base("Gru", 3, inputSize, hiddenSize, rng, numLayers, bias, batchFirst, dropout, bidirectional) { }

    private protected override bool HasCellState => false;

    private protected override RecurrentSequence RunDirection(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, Variable? c0, bool reverse, bool batchFirst) =>
        F.GruSequence(input, weightIh, biasIh, weightHh, biasHh, h0, null, reverse, batchFirst);
}
