using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>RMS normalization (Zhang &amp; Sennrich 2019; PyTorch's <c>nn.RMSNorm</c>): scaling without centring.</summary>
public sealed class RmsNorm : Module
{
    private readonly int[] _normalizedShape;

    /// <summary>The trailing dimensions normalized over.</summary>
    public ReadOnlySpan<int> NormalizedShape => _normalizedShape;

    /// <summary>Added to the mean square inside the square root.</summary>
    public float Eps { get; }

    /// <summary>The gain, or null without elementwise affine.</summary>
    public Variable? Weight { get; }

    /// <summary>Creates the layer over the trailing <paramref name="normalizedShape"/>.</summary>
    public RmsNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new Errors.InvalidValueException(nameof(normalizedShape), $"RmsNorm: normalized shape must be non-empty with positive dimensions, got {Errors.ShapeMismatchException.Format(normalizedShape)}.");
        Kernels.Normalization.NormalizationArguments.CheckEps("RmsNorm", eps);
        _normalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine) Weight = RegisterParameter("weight", Variable.Parameter(Tensor.Full(1f, normalizedShape), "weight"));
    }

    /// <summary>Creates the layer over the last dimension of size <paramref name="features"/>.</summary>
    public RmsNorm(int features, float eps = 1e-5f, bool elementwiseAffine = true) : this([features], eps, elementwiseAffine) { }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.RmsNorm(input, _normalizedShape, Weight, Eps);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{Repr.Shape(_normalizedShape)}, eps={Repr.Float(Eps)}, elementwise_affine={Repr.Bool(Weight is not null)}";
}
