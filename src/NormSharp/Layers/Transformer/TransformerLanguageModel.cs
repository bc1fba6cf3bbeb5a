using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Transformer;

/// <summary>
/// A decoder-only (GPT-style) language model: token embedding plus positions, a stack of causal
/// <see cref="TransformerEncoderLayer"/> blocks (batch-first), a final normalization after Pre-LN blocks, and an
/// output projection tied to the token embedding. Parts: <c>token_embedding</c>, <c>position_embedding</c> (learned
/// positions only), <c>layers.0</c> …, <c>norm</c> (Pre-LN with a normalization), <c>lm_head</c> (untied only).
/// </summary>
public sealed class TransformerLanguageModel : Module, ILanguageModel
{
    /// <summary>Builds the model; <paramref name="rng"/> draws the weights and, in training, the dropout masks.</summary>
    /// <exception cref="InvalidValueException">A setting is out of range.</exception>
    public TransformerLanguageModel(TransformerLanguageModelOptions options, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        options.Validate();
        Options = options;
        int d = options.DModel;
        TokenEmbedding = new Embedding(options.VocabularySize, d, rng);
        // GPT-2's scale: with the output projection tied, N(0, 1) rows would start the logits at a spread of sqrt(D).
        rng.FillNormal(TokenEmbedding.Weight.Value.Span, 0f, 0.02f);
        if (options.Positional == PositionalEncodingKind.Learned) PositionEmbedding = new LearnedPositionalEmbedding(options.ContextLength, d, rng);
        else PositionEncoding = new SinusoidalPositionalEncoding(options.ContextLength, d);
        var layers = new TransformerEncoderLayer[options.Layers];
        for (int i = 0; i < layers.Length; i++)
            layers[i] = new TransformerEncoderLayer(d, options.Heads, rng, options.FeedForward, options.Dropout, options.Activation,
                options.Eps, batchFirst: true, normFirst: options.NormFirst, norm: options.Norm) { IsCausal = true };
        Layers = layers;
        Norm = options.NormFirst ? BlockNorm.Create(options.Norm, d, options.Eps, "TransformerLanguageModel") : null;
        LmHead = options.TieWeights ? null : new Linear(d, options.VocabularySize, rng, bias: false);
        EmbeddingDropout = new Dropout(options.Dropout, rng);
    }

    /// <summary>The settings the model was built with.</summary>
    public TransformerLanguageModelOptions Options { get; }

    /// <summary>Token vectors, [vocabulary, D]; also the output projection when tied.</summary>
    public Embedding TokenEmbedding { get; }

    /// <summary>The learned positions, or null with sinusoidal ones.</summary>
    public LearnedPositionalEmbedding? PositionEmbedding { get; }

    /// <summary>The sinusoidal positions, or null with learned ones.</summary>
    public SinusoidalPositionalEncoding? PositionEncoding { get; }

    /// <summary>The blocks, bottom first.</summary>
    public IReadOnlyList<TransformerEncoderLayer> Layers { get; }

    /// <summary>The final normalization (Pre-LN), or null.</summary>
    public Module? Norm { get; }

    /// <summary>The output projection when not tied, else null.</summary>
    public Linear? LmHead { get; }

    /// <summary>Dropout on the embedded input.</summary>
    public Dropout EmbeddingDropout { get; }

    /// <inheritdoc />
    public int VocabularySize => Options.VocabularySize;

    /// <inheritdoc />
    public int ContextLength => Options.ContextLength;

    /// <summary>Logits [B, T, vocabulary] of token ids given as whole-number floats, [B, T].</summary>
    /// <exception cref="ShapeMismatchException">The input is not [B, T] with T within the context.</exception>
    public override Variable Forward(Variable input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tape.CheckAlive(input, "TransformerLanguageModel");
        if (input.Shape.Length != 2)
            throw new ShapeMismatchException($"TransformerLanguageModel: the input must be token ids [B, T], got {ShapeMismatchException.Format(input.Shape)}.");
        var ids = input.Value.Span;
        var tokens = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++) tokens[i] = (int)ids[i];
        int batch = input.Shape[0], time = input.Shape[1];
        return F.Reshape(Logits(tokens, batch), batch, time, VocabularySize);
    }

    /// <summary>Logits [B·T, vocabulary] of <paramref name="tokens"/> ([B, T] row-major).</summary>
    /// <exception cref="ShapeMismatchException">The tokens do not fill whole rows, or a row is longer than the context.</exception>
    /// <exception cref="InvalidValueException">A token id is outside the vocabulary.</exception>
    public Variable Logits(ReadOnlySpan<int> tokens, int batch)
    {
        if (batch <= 0 || tokens.Length % batch != 0)
            throw new ShapeMismatchException($"TransformerLanguageModel: {tokens.Length} tokens do not make {batch} rows of equal length.");
        int time = tokens.Length / batch, d = Options.DModel;
        if (time == 0 || time > ContextLength)
            throw new ShapeMismatchException($"TransformerLanguageModel: rows of {time} tokens; the model reads 1 to {ContextLength}.");
        var x = F.Reshape(F.Embedding(tokens, TokenEmbedding.Weight), batch, time, d);
        x = PositionEmbedding is not null ? PositionEmbedding.Forward(x) : PositionEncoding!.Forward(x);
        x = EmbeddingDropout.Forward(x);
        foreach (var layer in Layers) x = layer.Forward(x, isCausal: true);
        x = BlockNorm.Apply(Norm, x);
        var flat = F.Reshape(x, batch * time, d);
        return LmHead is not null ? LmHead.Forward(flat) : F.Linear(flat, TokenEmbedding.Weight);
    }

    /// <inheritdoc />
    public Variable Loss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch)
    {
        if (targets.Length != inputs.Length)
            throw new ShapeMismatchException($"TransformerLanguageModel: {targets.Length} targets for {inputs.Length} inputs.");
        return F.CrossEntropy(Logits(inputs, batch), targets);
    }

    /// <inheritdoc />
    public float[] NextTokenLogits(ReadOnlySpan<int> context)
    {
        if (context.IsEmpty) throw new ShapeMismatchException("TransformerLanguageModel: the context is empty; give at least one token.");
        var window = context.Length > ContextLength ? context[^ContextLength..] : context;
        using var _ = GradMode.NoGrad();
        var logits = Logits(window, 1).Value.Span;
        return logits[^VocabularySize..].ToArray();
    }

    /// <summary>A short description, e.g. <c>transformer-4x128-h4-pre-layer</c>.</summary>
    public string Describe() =>
        $"transformer-{Options.Layers}x{Options.DModel}-h{Options.Heads}-{(Options.NormFirst ? "pre" : "post")}-{NormKinds.Name(Options.Norm)}";

    /// <inheritdoc />
    protected override string ExtraRepr() => $"vocabulary={VocabularySize}, context={ContextLength}";
}
