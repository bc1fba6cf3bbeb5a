using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Transformer;

/// <summary>
/// A Transformer block with PyTorch's <c>nn.TransformerEncoderLayer</c> parameters, names and semantics:
/// self-attention (<c>self_attn</c>) and a feed-forward network (<c>linear1</c>, activation, <c>linear2</c>), each
/// with a residual connection and a normalization (<c>norm1</c>, <c>norm2</c>), and dropout after each sublayer and
/// inside the feed-forward network. Post-LN by default (<c>norm(x + sublayer(x))</c>, the original Transformer);
/// <see cref="NormFirst"/> gives Pre-LN (<c>x + sublayer(norm(x))</c>, Xiong et al. 2020). Beyond PyTorch the
/// normalization may be RMSNorm or none. A PyTorch layer's <c>state_dict</c> loads as it is.
/// </summary>
/// <remarks>
/// The residual connections run through the fused residual-add + normalization kernels, and attention through the
/// fused streaming kernel, so a block records a handful of nodes and no score matrix.
/// </remarks>
public sealed class TransformerEncoderLayer : Module
{
    /// <summary>
    /// Creates the block. <paramref name="rng"/> draws the weights and, in training, the dropout masks.
    /// <paramref name="activation"/> is applied between <c>linear1</c> and <c>linear2</c> (PyTorch: "relu" or "gelu").
    /// </summary>
    /// <exception cref="InvalidValueException">A size is not positive, the heads do not divide the width, a rate is outside [0, 1], or the norm is batch normalization.</exception>
    public TransformerEncoderLayer(int dModel, int nhead, Rng rng, int dimFeedforward = 2048, float dropout = 0.1f,
        F.Activation activation = F.Activation.Relu, float layerNormEps = 1e-5f, bool batchFirst = false, bool normFirst = false,
        bool bias = true, NormKind norm = NormKind.Layer)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (dimFeedforward <= 0) throw new InvalidValueException(nameof(dimFeedforward), $"TransformerEncoderLayer: dim_feedforward must be positive, got {dimFeedforward}.");
        SelfAttn = new MultiheadAttention(dModel, nhead, rng, dropout, bias, batchFirst);
        Linear1 = new Linear(dModel, dimFeedforward, rng, bias);
        Dropout = new Dropout(dropout, rng);
        Linear2 = new Linear(dimFeedforward, dModel, rng, bias);
        Norm1 = BlockNorm.Create(norm, dModel, layerNormEps, "TransformerEncoderLayer");
        Norm2 = BlockNorm.Create(norm, dModel, layerNormEps, "TransformerEncoderLayer");
        Dropout1 = new Dropout(dropout, rng);
        Dropout2 = new Dropout(dropout, rng);
        Activation = activation;
        NormFirst = normFirst;
        Norm = norm;
    }

    /// <summary>Self-attention.</summary>
    public MultiheadAttention SelfAttn { get; }

    /// <summary>The feed-forward network's first layer, D → dim_feedforward.</summary>
    public Linear Linear1 { get; }

    /// <summary>Dropout after the activation.</summary>
    public Dropout Dropout { get; }

    /// <summary>The feed-forward network's second layer, dim_feedforward → D.</summary>
    public Linear Linear2 { get; }

    /// <summary>The normalization around self-attention (LayerNorm, RMSNorm, or null for none).</summary>
    public Module? Norm1 { get; }

    /// <summary>The normalization around the feed-forward network.</summary>
    public Module? Norm2 { get; }

    /// <summary>Dropout on the self-attention's output.</summary>
    public Dropout Dropout1 { get; }

    /// <summary>Dropout on the feed-forward network's output.</summary>
    public Dropout Dropout2 { get; }

    /// <summary>The feed-forward activation.</summary>
    public F.Activation Activation { get; }

    /// <summary>Pre-LN (normalize each sublayer's input) rather than Post-LN (normalize after each residual sum).</summary>
    public bool NormFirst { get; }

    /// <summary>Which normalization the block uses.</summary>
    public NormKind Norm { get; }

    /// <summary>Whether the one-argument <see cref="Forward(Variable)"/> masks future positions (default false).</summary>
    public bool IsCausal { get; init; }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => Forward(input, IsCausal);

    /// <summary>Runs the block; with <paramref name="isCausal"/>, position t attends to positions ≤ t only.</summary>
    public Variable Forward(Variable x, bool isCausal)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (NormFirst)
        {
            var attended = Dropout1.Forward(SelfAttn.Forward(BlockNorm.Apply(Norm1, x), isCausal));
            var (h, u) = BlockNorm.AddKeepingSum(Norm2, x, attended);
            return F.Add(h, Dropout2.Forward(FeedForward(u)));
        }
        var a = BlockNorm.AddThenNormalize(Norm1, x, Dropout1.Forward(SelfAttn.Forward(x, isCausal)));
        return BlockNorm.AddThenNormalize(Norm2, a, Dropout2.Forward(FeedForward(a)));
    }

    private Variable FeedForward(Variable x) => Linear2.Forward(Dropout.Forward(F.Activate(Linear1.Forward(x), Activation)));

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"norm_first={Repr.Bool(NormFirst)}, norm={NormKinds.Name(Norm)}, activation={ActivationName(Activation)}";

    private static string ActivationName(F.Activation a) => a switch
    {
        F.Activation.Relu => "relu",
        F.Activation.Gelu => "gelu",
        F.Activation.GeluTanh => "gelu_tanh",
        F.Activation.Tanh => "tanh",
        F.Activation.Sigmoid => "sigmoid",
        F.Activation.Silu => "silu",
        _ => "unknown",
    };
}
