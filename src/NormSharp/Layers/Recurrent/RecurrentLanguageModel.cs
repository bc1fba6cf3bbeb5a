using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// A recurrent character-level language model: token embedding, a <see cref="RecurrentLayer"/> of any cell
/// (LSTM, LN-LSTM, GRU, …) run over each window from a zero state, and a linear output layer at every position.
/// Parts: <c>embedding</c>, <c>rnn</c>, <c>head</c>.
/// </summary>
public sealed class RecurrentLanguageModel : Module, ILanguageModel, ISequenceModel
{
    private int[] _timeMajor = [];

    /// <summary>
    /// Builds the model for windows of <paramref name="contextLength"/> tokens: embeddings of
    /// <paramref name="embeddingDim"/>, <paramref name="layers"/> layers of <paramref name="hidden"/> units.
    /// </summary>
    /// <exception cref="InvalidValueException">A size is not positive.</exception>
    public RecurrentLanguageModel(CellKind cell, int vocabularySize, int embeddingDim, int hidden, int contextLength, Rng rng, int layers = 1)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (contextLength <= 0) throw new InvalidValueException("context", $"RecurrentLanguageModel: the context must be at least 1, got {contextLength}.");
        if (hidden <= 0) throw new InvalidValueException("hidden", $"RecurrentLanguageModel: the hidden size must be positive, got {hidden}.");
        Embedding = new Embedding(vocabularySize, embeddingDim, rng);
        Rnn = new RecurrentLayer(cell, embeddingDim, hidden, rng, layers, batchFirst: false, maxSteps: contextLength);
        Head = new Linear(hidden, vocabularySize, rng);
        ContextLength = contextLength;
    }

    /// <summary>Token vectors.</summary>
    public Embedding Embedding { get; }

    /// <summary>The recurrent layer (time-first inside the model).</summary>
    public RecurrentLayer Rnn { get; }

    /// <summary>The output layer, hidden → vocabulary.</summary>
    public Linear Head { get; }

    /// <inheritdoc />
    public int VocabularySize => Embedding.NumEmbeddings;

    /// <inheritdoc />
    public int ContextLength { get; }

    /// <inheritdoc />
    public int Steps => ContextLength;

    /// <summary>Logits [B, T, vocabulary] of token ids given as whole-number floats, [B, T].</summary>
    public override Variable Forward(Variable input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tape.CheckAlive(input, "RecurrentLanguageModel");
        if (input.Shape.Length != 2)
            throw new ShapeMismatchException($"RecurrentLanguageModel: the input must be token ids [B, T], got {ShapeMismatchException.Format(input.Shape)}.");
        int batch = input.Shape[0], time = input.Shape[1];
        var ids = input.Value.Span;
        var tokens = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++) tokens[i] = (int)ids[i];
        // Time-major logits back to batch-major.
        return F.SwapFirstTwoDims(F.Reshape(TimeMajorLogits(tokens, batch), time, batch, VocabularySize));
    }

    /// <summary>Logits [T·B, vocabulary] in time-major order (row t·B + b) of <paramref name="tokens"/> ([B, T] row-major).</summary>
    private Variable TimeMajorLogits(ReadOnlySpan<int> tokens, int batch)
    {
        if (batch <= 0 || tokens.Length % batch != 0)
            throw new ShapeMismatchException($"RecurrentLanguageModel: {tokens.Length} tokens do not make {batch} rows of equal length.");
        int time = tokens.Length / batch;
        if (time == 0 || time > ContextLength)
            throw new ShapeMismatchException($"RecurrentLanguageModel: rows of {time} tokens; the model reads 1 to {ContextLength}.");
        // The recurrent layer steps through time: gather the tokens time-major so its input needs no transpose.
        var order = TimeMajor(tokens, batch, time);
        var x = F.Reshape(F.Embedding(order, Embedding.Weight), time, batch, Embedding.EmbeddingDim);
        var h = Rnn.Run(x).Outputs!;
        return Head.Forward(F.Reshape(h, time * batch, Rnn.HiddenSize));
    }

    /// <inheritdoc />
    public Variable Loss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch)
    {
        if (targets.Length != inputs.Length)
            throw new ShapeMismatchException($"RecurrentLanguageModel: {targets.Length} targets for {inputs.Length} inputs.");
        var logits = TimeMajorLogits(inputs, batch);
        // The targets in the logits' time-major order (the cross-entropy is a mean, so the order is otherwise free).
        var order = TimeMajor(targets, batch, inputs.Length / batch);
        return F.CrossEntropy(logits, order);
    }

    /// <inheritdoc />
    public float[] NextTokenLogits(ReadOnlySpan<int> context)
    {
        if (context.IsEmpty) throw new ShapeMismatchException("RecurrentLanguageModel: the context is empty; give at least one token.");
        var window = context.Length > ContextLength ? context[^ContextLength..] : context;
        using var _ = GradMode.NoGrad();
        var logits = TimeMajorLogits(window, 1).Value.Span;
        return logits[^VocabularySize..].ToArray();
    }

    /// <summary>The [B, T] tokens reordered [T, B], in a buffer reused between calls (read before the next call).</summary>
    private int[] TimeMajor(ReadOnlySpan<int> tokens, int batch, int time)
    {
        if (_timeMajor.Length != tokens.Length) _timeMajor = new int[tokens.Length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < time; t++) _timeMajor[t * batch + b] = tokens[b * time + t];
        return _timeMajor;
    }

    /// <summary>A short description, e.g. <c>rnn-ln-lstm-256x1</c>.</summary>
    public string Describe() => $"rnn-{CellKinds.Name(Rnn.Kind)}-{Rnn.HiddenSize}x{Rnn.Cells.Count}";
}
