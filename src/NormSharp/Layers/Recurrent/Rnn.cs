using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>A multi-layer Elman RNN with tanh mirroring PyTorch's <c>nn.RNN</c> (its state-dict names and layouts).</summary>
public sealed class Rnn : RecurrentStack
{
    /// <summary>Creates the stack; the arguments are <c>nn.RNN</c>'s with nonlinearity='tanh'.</summary>
    public Rnn(int inputSize, int hiddenSize, Rng rng, int numLayers = 1, bool bias = true, bool batchFirst = false, float dropout = 0f, bool bidirectional = false)
        : base("Rnn", 1, inputSize, hiddenSize, rng, numLayers, bias, batchFirst, dropout, bidirectional) { }

    private protected override bool HasCellState => false;

    private protected override RecurrentSequence RunDirection(Variable input, Variable weightIh, Variable? biasIh, Variable weightHh, Variable? biasHh,
        Variable? h0, Variable? c0, bool reverse, bool batchFirst) =>
        F.RnnSequence(input, weightIh, biasIh, weightHh, biasHh, h0, reverse, batchFirst);
}
