using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>A dense layer y = x·Wᵀ + b with W of shape [out, in] (PyTorch's <c>nn.Linear</c>).</summary>
public sealed class Linear : Module
{
    /// <summary>The weight, [out, in].</summary>
    public Variable Weight { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Creates the layer with weights drawn from <paramref name="rng"/> by <paramref name="init"/>.</summary>
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true, InitScheme init = InitScheme.PyTorchDefault)
    {
        if (inFeatures <= 0) throw new InvalidValueException(nameof(inFeatures), $"Linear: in_features must be positive, got {inFeatures}.");
        if (outFeatures <= 0) throw new InvalidValueException(nameof(outFeatures), $"Linear: out_features must be positive, got {outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var w = Tensor.Zeros(outFeatures, inFeatures);
        var b = bias ? Tensor.Zeros(outFeatures) : null;
        Init.Fill(init, w.Span, b is null ? Span<float>.Empty : b.Span, inFeatures, outFeatures, rng);
        Weight = RegisterParameter("weight", Variable.Parameter(w, "weight"));
        Bias = b is null ? null : RegisterParameter("bias", Variable.Parameter(b, "bias"));
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Linear(input, Weight, Bias);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={Repr.Bool(Bias is not null)}";
}
