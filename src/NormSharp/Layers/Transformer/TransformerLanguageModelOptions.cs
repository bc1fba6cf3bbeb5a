using NormSharp.Autograd;
using NormSharp.Errors;

namespace NormSharp.Layers.Transformer;

/// <summary>The shape of a <see cref="TransformerLanguageModel"/>.</summary>
public sealed record TransformerLanguageModelOptions
{
    /// <summary>Number of token ids.</summary>
    public required int VocabularySize { get; init; }

    /// <summary>Most positions one pass reads (the positional table's length).</summary>
    public int ContextLength { get; init; } = 128;

    /// <summary>Width of the residual stream.</summary>
    public int DModel { get; init; } = 128;

    /// <summary>Number of blocks.</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Attention heads per block; must divide <see cref="DModel"/>.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Width of the feed-forward networks.</summary>
    public int FeedForward { get; init; } = 512;

    /// <summary>Dropout rate of the blocks (attention weights, sublayer outputs, feed-forward activations).</summary>
    public float Dropout { get; init; }

    /// <summary>Pre-LN blocks with a final normalization (true), or Post-LN blocks (false).</summary>
    public bool NormFirst { get; init; } = true;

    /// <summary>The blocks' normalization: layer, rms or none.</summary>
    public NormKind Norm { get; init; } = NormKind.Layer;

    /// <summary>The feed-forward activation.</summary>
    public F.Activation Activation { get; init; } = F.Activation.Gelu;

    /// <summary>Learned or sinusoidal positions.</summary>
    public PositionalEncodingKind Positional { get; init; } = PositionalEncodingKind.Learned;

    /// <summary>Whether the output projection is the token embedding's transpose (tied weights).</summary>
    public bool TieWeights { get; init; } = true;

    /// <summary>eps of every normalization.</summary>
    public float Eps { get; init; } = 1e-5f;

    /// <summary>Throws an <see cref="InvalidValueException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        const string Owner = "TransformerLanguageModel";
        if (VocabularySize <= 0) throw new InvalidValueException("vocabulary", $"{Owner}: the vocabulary must hold at least one token, got {VocabularySize}.");
        if (ContextLength <= 0) throw new InvalidValueException("context", $"{Owner}: the context must be at least 1, got {ContextLength}.");
        if (DModel <= 0) throw new InvalidValueException("d-model", $"{Owner}: the model width must be positive, got {DModel}.");
        if (Layers <= 0) throw new InvalidValueException("layers", $"{Owner}: the number of layers must be positive, got {Layers}.");
        if (Heads <= 0) throw new InvalidValueException("heads", $"{Owner}: the number of heads must be positive, got {Heads}.");
        if (DModel % Heads != 0) throw new InvalidValueException("heads", $"{Owner}: {Heads} heads do not divide the model width {DModel}.");
        if (FeedForward <= 0) throw new InvalidValueException("feed-forward", $"{Owner}: the feed-forward width must be positive, got {FeedForward}.");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new InvalidValueException("dropout", $"{Owner}: dropout must be in [0, 1), got {Dropout}.");
        if (Norm is NormKind.Batch or NormKind.SyncBatch) throw new InvalidValueException("norm", $"{Owner}: batch normalization is not offered in Transformer blocks; use layer, rms or none.");
        if (!(Eps > 0f) || float.IsInfinity(Eps)) throw new InvalidValueException("eps", $"{Owner}: eps must be a positive finite number, got {Eps}.");
    }
}
