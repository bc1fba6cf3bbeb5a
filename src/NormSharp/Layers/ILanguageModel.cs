using NormSharp.Autograd;

namespace NormSharp.Layers;

/// <summary>
/// A model that predicts the next token of a sequence (a character-level language model): it scores every
/// position of a batch of token windows against the following tokens, and gives the distribution of the token
/// after a context for sampling. Transformer and recurrent language models implement it alike, so training,
/// evaluation and generation work with either.
/// </summary>
public interface ILanguageModel
{
    /// <summary>Number of token ids (the embedding and output width).</summary>
    int VocabularySize { get; }

    /// <summary>Most tokens one pass reads: longer contexts are cut to their last this-many tokens.</summary>
    int ContextLength { get; }

    /// <summary>
    /// The mean cross-entropy, in nats per token, of predicting <paramref name="targets"/> from
    /// <paramref name="inputs"/>: both [batch, time] row-major, target t being the token after input t.
    /// </summary>
    Variable Loss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch);

    /// <summary>The logits of the token after <paramref name="context"/> (its last <see cref="ContextLength"/> tokens), one per id.</summary>
    float[] NextTokenLogits(ReadOnlySpan<int> context);
}
