using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>Inverted dropout: active in training mode only.</summary>
public sealed class Dropout : Module
{
    /// <summary>Probability of zeroing an element.</summary>
    public float P { get; }

    /// <summary>The generator the masks are drawn from (part of a checkpoint's state).</summary>
    public Rng Rng { get; }

    /// <summary>Creates the layer; masks are drawn from <paramref name="rng"/>.</summary>
    public Dropout(float p, Rng rng)
    {
        if (!(p >= 0f && p <= 1f)) throw new InvalidValueException(nameof(p), $"Dropout: p must be in [0, 1], got {p}.");
        P = p;
        Rng = rng;
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Dropout(input, P, Rng, IsTraining);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"p={Repr.Float(P)}";
}
