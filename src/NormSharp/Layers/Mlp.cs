using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// A multilayer perceptron built as in the paper: each hidden layer is Linear → normalization of the
/// summed inputs → nonlinearity; the output layer is a plain Linear (no normalization on the logits).
/// Its children sit in a <see cref="Sequential"/> named <c>layers</c>, so parameters are called
/// <c>layers.0.weight</c>, <c>layers.1.weight</c> (the norm's gain), and so on. With
/// <see cref="NormKind.Weight"/> the hidden layers are <see cref="WeightNormLinear"/> (parameters
/// <c>layers.0.weight_g</c>, <c>layers.0.weight_v</c>, as PyTorch's <c>weight_norm</c> names them) with no
/// normalization layer after them; the output layer stays a plain Linear.
/// </summary>
public sealed class Mlp : Module
{
    /// <summary>The layers in order.</summary>
    public Sequential Layers { get; }

    /// <summary>Input, hidden and output widths.</summary>
    public IReadOnlyList<int> Widths { get; }

    /// <summary>The normalization of the hidden layers.</summary>
    public NormKind Norm { get; }

    /// <summary>The hidden nonlinearity.</summary>
    public F.Activation Activation { get; }

    /// <summary>Builds the network; weights are drawn from <paramref name="rng"/>.</summary>
    public Mlp(IReadOnlyList<int> widths, NormKind norm, Rng rng, F.Activation activation = F.Activation.Relu, InitScheme init = InitScheme.PyTorchDefault, float dropout = 0f)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (widths.Count < 2) throw new InvalidValueException(nameof(widths), $"Mlp: needs at least an input and an output width, got {widths.Count} width(s).");
        foreach (int w in widths)
            if (w <= 0) throw new InvalidValueException(nameof(widths), $"Mlp: every width must be positive, got [{string.Join(", ", widths)}].");
        Widths = widths.ToArray();
        Norm = norm;
        Activation = activation;
        var layers = new List<Module>();
        for (int i = 0; i + 1 < widths.Count; i++)
        {
            bool hidden = i + 2 < widths.Count;
            // A normalization that re-centres makes a bias before it redundant, but PyTorch-style MLPs keep it; so do we.
            if (hidden && norm == NormKind.Weight) layers.Add(new WeightNormLinear(widths[i], widths[i + 1], rng, bias: true, init));
            else layers.Add(new Linear(widths[i], widths[i + 1], rng, bias: true, init));
            if (!hidden) break;
            switch (norm)
            {
                case NormKind.Layer: layers.Add(new LayerNorm(widths[i + 1])); break;
                case NormKind.Batch: layers.Add(new BatchNorm1d(widths[i + 1])); break;
                case NormKind.Rms: layers.Add(new RmsNorm(widths[i + 1])); break;
                case NormKind.SyncBatch: layers.Add(new SyncBatchNorm(widths[i + 1])); break;
                case NormKind.None or NormKind.Weight: break;
                default: throw new ArgumentOutOfRangeException(nameof(norm), norm, "unknown normalization");
            }
            layers.Add(activation switch
            {
                F.Activation.Relu => new ReLU(),
                F.Activation.Tanh => new Tanh(),
                F.Activation.Sigmoid => new Sigmoid(),
                F.Activation.Gelu => new Gelu(),
                F.Activation.GeluTanh => new Gelu(F.GeluApproximation.Tanh),
                F.Activation.Silu => new SiLU(),
                _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation"),
            });
            if (dropout > 0f) layers.Add(new Dropout(dropout, rng));
        }
        Layers = RegisterModule("layers", new Sequential(layers.ToArray()));
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => Layers.Forward(input);

    /// <summary>A short description such as <c>mlp-784-1000-1000-10</c>.</summary>
    public string Describe() => "mlp-" + string.Join("-", Widths);
}
