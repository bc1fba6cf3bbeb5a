using NormSharp.Autograd;
using NormSharp.Errors;

namespace NormSharp.Layers.Transformer;

/// <summary>
/// The normalizations a Transformer block may use (LayerNorm, RMSNorm, or none) and the residual connections
/// around them, routed to the fused residual-add + normalization operations.
/// </summary>
internal static class BlockNorm
{
    /// <summary>The normalization layer of <paramref name="kind"/> over <paramref name="features"/>, or null for none.</summary>
    public static Module? Create(NormKind kind, int features, float eps, string owner) => kind switch
    {
        NormKind.Layer => new LayerNorm(features, eps),
        NormKind.Rms => new RmsNorm(features, eps),
        NormKind.None => null,
        _ => throw new InvalidValueException("norm",
            $"{owner}: {NormKinds.Name(kind)} normalization is not offered in Transformer blocks (batch statistics would mix positions and sequences); use layer, rms or none."),
    };

    /// <summary>norm(x), or x without a normalization.</summary>
    public static Variable Apply(Module? norm, Variable x) => norm is null ? x : norm.Forward(x);

    /// <summary>norm(x + residual) in one fused pass, or the plain sum without a normalization.</summary>
    public static Variable AddThenNormalize(Module? norm, Variable x, Variable residual) => norm switch
    {
        null => F.Add(x, residual),
        LayerNorm ln => F.AddLayerNorm(x, residual, ln.NormalizedShape, ln.Weight, ln.Bias, ln.Eps),
        RmsNorm rn => F.AddRmsNorm(x, residual, rn.NormalizedShape, rn.Weight, rn.Eps),
        _ => norm.Forward(F.Add(x, residual)),
    };

    /// <summary>h = x + residual and norm(h), fused; without a normalization both are the sum.</summary>
    public static (Variable Sum, Variable Normalized) AddKeepingSum(Module? norm, Variable x, Variable residual)
    {
        switch (norm)
        {
            case null:
                var sum = F.Add(x, residual);
                return (sum, sum);
            case LayerNorm ln:
                return F.AddLayerNormWithSum(x, residual, ln.NormalizedShape, ln.Weight, ln.Bias, ln.Eps);
            case RmsNorm rn:
                return F.AddRmsNormWithSum(x, residual, rn.NormalizedShape, rn.Weight, rn.Eps);
            default:
                var h = F.Add(x, residual);
                return (h, norm.Forward(h));
        }
    }

    /// <summary>The kind of a normalization layer made by <see cref="Create"/>.</summary>
    public static NormKind KindOf(Module? norm) => norm switch
    {
        null => NormKind.None,
        RmsNorm => NormKind.Rms,
        _ => NormKind.Layer,
    };
}
