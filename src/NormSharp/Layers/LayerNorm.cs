using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// Layer normalization (Ba, Kiros &amp; Hinton 2016; PyTorch's <c>nn.LayerNorm</c>) over the trailing
/// <see cref="NormalizedShape"/>: per-sample statistics, identical in training and evaluation.
/// The gain starts at 1 and the bias at 0.
/// </summary>
public sealed class LayerNorm : Module
{
    private readonly int[] _normalizedShape;

    /// <summary>The trailing dimensions normalized over.</summary>
    public ReadOnlySpan<int> NormalizedShape => _normalizedShape;

    /// <summary>Added to the variance inside the square root.</summary>
    public float Eps { get; }

    /// <summary>The gain, or null without elementwise affine.</summary>
    public Variable? Weight { get; }

    /// <summary>The bias, or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Creates the layer; <paramref name="elementwiseAffine"/> adds the gain, <paramref name="bias"/> also the bias.</summary>
    public LayerNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new Errors.InvalidValueException(nameof(normalizedShape), $"LayerNorm: normalized shape must be non-empty with positive dimensions, got {Errors.ShapeMismatchException.Format(normalizedShape)}.");
        Kernels.Normalization.NormalizationArguments.CheckEps("LayerNorm", eps);
        _normalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", Variable.Parameter(Tensor.Full(1f, normalizedShape), "weight"));
            if (bias) Bias = RegisterParameter("bias", Variable.Parameter(Tensor.Zeros(normalizedShape), "bias"));
        }
    }

    /// <summary>Creates the layer over the last dimension of size <paramref name="features"/>.</summary>
    public LayerNorm(int features, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
        : this([features], eps, elementwiseAffine, bias) { }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.LayerNorm(input, _normalizedShape, Weight, Bias, Eps);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{Repr.Shape(_normalizedShape)}, eps={Repr.Float(Eps)}, elementwise_affine={Repr.Bool(Weight is not null)}";
}
