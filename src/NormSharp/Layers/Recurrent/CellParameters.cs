using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>Initialization shared by the recurrent cells: PyTorch's U(−1/√H, 1/√H) for weights and biases, gains 1 and shifts 0 for normalizations.</summary>
internal static class CellParameters
{
    public static void CheckSizes(string cell, int inputSize, int hiddenSize)
    {
        if (inputSize <= 0) throw new InvalidValueException(nameof(inputSize), $"{cell}: input size must be positive, got {inputSize}.");
        if (hiddenSize <= 0) throw new InvalidValueException(nameof(hiddenSize), $"{cell}: hidden size must be positive, got {hiddenSize}.");
    }

    public static Variable Uniform(Rng rng, int hiddenSize, string name, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        float bound = 1f / MathF.Sqrt(hiddenSize);
        rng.FillUniform(t.Span, -bound, bound);
        return Variable.Parameter(t, name);
    }

    public static Variable Fill(float value, string name, params int[] shape) => Variable.Parameter(Tensor.Full(value, shape), name);

    /// <summary>Sets the forget-gate block [H, 2H) of an LSTM bias to <paramref name="value"/>.</summary>
    public static void SetForgetBias(Variable bias, int hiddenSize, float value) => bias.Value.Span.Slice(hiddenSize, hiddenSize).Fill(value);
}
