using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of <see cref="EmbeddingDim"/> (PyTorch's <c>nn.Embedding</c>):
/// the input holds row indices as whole-number floats, of any shape, and the output appends the vector dimension.
/// Weights start as N(0, 1) draws, as in PyTorch; the padding row, if any, starts at zero and is never trained.
/// </summary>
public sealed class Embedding : Module
{
    /// <summary>The table, [num_embeddings, embedding_dim].</summary>
    public Variable Weight { get; }

    /// <summary>Number of rows in the table.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each vector.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The row that receives no gradient (normalized to a non-negative index), or null.</summary>
    public int? PaddingIdx { get; }

    /// <summary>Creates the table with weights drawn from <paramref name="rng"/>; a negative <paramref name="paddingIdx"/> counts from the end.</summary>
    /// <exception cref="InvalidValueException">A size is not positive, or the padding index is outside the table.</exception>
    public Embedding(int numEmbeddings, int embeddingDim, Rng rng, int? paddingIdx = null)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (numEmbeddings <= 0) throw new InvalidValueException(nameof(numEmbeddings), $"Embedding: num_embeddings must be positive, got {numEmbeddings}.");
        if (embeddingDim <= 0) throw new InvalidValueException(nameof(embeddingDim), $"Embedding: embedding_dim must be positive, got {embeddingDim}.");
        if (paddingIdx is int p && (p < -numEmbeddings || p >= numEmbeddings))
            throw new InvalidValueException(nameof(paddingIdx), $"Embedding: padding_idx {p} is outside the table of {numEmbeddings} rows.");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        PaddingIdx = paddingIdx is int q ? (q < 0 ? q + numEmbeddings : q) : null;
        var w = Tensor.Zeros(numEmbeddings, embeddingDim);
        rng.FillNormal(w.Span, 0f, 1f);
        if (PaddingIdx is int pad) w.Span.Slice(pad * embeddingDim, embeddingDim).Clear();
        Weight = RegisterParameter("weight", Variable.Parameter(w, "weight"));
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tape.CheckAlive(input, "Embedding");
        return F.Embedding(input.Value, Weight, PaddingIdx);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{NumEmbeddings}, {EmbeddingDim}{(PaddingIdx is int p ? $", padding_idx={p}" : "")}";
}
