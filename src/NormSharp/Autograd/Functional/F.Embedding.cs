using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Looks up rows of <paramref name="weight"/> ([count, dim]) by <paramref name="indices"/> (PyTorch's
    /// <c>embedding</c>): the result has the indices' shape followed by dim. Tensors hold float32, so the indices are
    /// whole numbers stored as floats (exact below 2²⁴). The gradient adds each output row back into the row it came
    /// from; the row <paramref name="paddingIdx"/> (negative counts from the end) receives none, as in PyTorch.
    /// The indices are copied, so changing them afterwards does not change the backward pass.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The weight is not rank 2, or an index is not a whole number inside the table.</exception>
    /// <exception cref="InvalidValueException"><paramref name="paddingIdx"/> is outside the table.</exception>
    public static Variable Embedding(Tensor indices, Variable weight, int? paddingIdx = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var (rows, dim, skip) = CheckEmbedding(weight, paddingIdx);
        var idx = indices.Span;
        for (int i = 0; i < idx.Length; i++)
        {
            float v = idx[i];
            if (!(v >= 0f && v < rows) || v != MathF.Floor(v))
                throw new ShapeMismatchException($"Embedding: index {v} at position {i} of the indices {ShapeMismatchException.Format(indices.Shape)} is not a row of the table {ShapeMismatchException.Format(weight.Shape)} (whole numbers from 0 to {rows - 1}).");
        }
        // Validated before the tape is asked for anything, so a bad index leaves no half-recorded operation.
        var node = Tape.NeedsGrad(weight) ? Tape.Current.RentNode<EmbeddingNode>() : null;
        int[] converted = node is null ? System.Buffers.ArrayPool<int>.Shared.Rent(idx.Length) : node.Buffer(idx.Length);
        try
        {
            for (int i = 0; i < idx.Length; i++) converted[i] = (int)idx[i];
            return EmbeddingCore(converted.AsSpan(0, idx.Length), indices.Shape, weight, rows, dim, skip, node);
        }
        finally
        {
            if (node is null) System.Buffers.ArrayPool<int>.Shared.Return(converted);
        }
    }

    /// <summary>
    /// <see cref="Embedding(Tensor, Variable, int?)"/> with integer indices: the result is [indices.Length, dim].
    /// </summary>
    /// <exception cref="ShapeMismatchException">The weight is not rank 2, or an index is outside the table.</exception>
    /// <exception cref="InvalidValueException"><paramref name="paddingIdx"/> is outside the table.</exception>
    public static Variable Embedding(ReadOnlySpan<int> indices, Variable weight, int? paddingIdx = null)
    {
        var (rows, dim, skip) = CheckEmbedding(weight, paddingIdx);
        for (int i = 0; i < indices.Length; i++)
            if ((uint)indices[i] >= (uint)rows)
                throw new ShapeMismatchException($"Embedding: index {indices[i]} at position {i} is not a row of the table {ShapeMismatchException.Format(weight.Shape)} (0 to {rows - 1}).");
        var node = Tape.NeedsGrad(weight) ? Tape.Current.RentNode<EmbeddingNode>() : null;
        if (node is not null) indices.CopyTo(node.Buffer(indices.Length));
        return EmbeddingCore(node is null ? indices : node.Indices.AsSpan(0, indices.Length), [indices.Length], weight, rows, dim, skip, node);
    }

    private static (int Rows, int Dim, int Skip) CheckEmbedding(Variable weight, int? paddingIdx)
    {
        ArgumentNullException.ThrowIfNull(weight);
        Tape.CheckAlive(weight, "Embedding");
        if (weight.Value.Rank != 2)
            throw new ShapeMismatchException($"Embedding: the weight must be [num_embeddings, embedding_dim], got {ShapeMismatchException.Format(weight.Shape)}.");
        int rows = weight.Value.Dim(0), dim = weight.Value.Dim(1);
        int skip = -1;
        if (paddingIdx is int p)
        {
            if (p < -rows || p >= rows)
                throw new InvalidValueException(nameof(paddingIdx), $"Embedding: padding_idx {p} is outside the table of {rows} rows.");
            skip = p < 0 ? p + rows : p;
        }
        return (rows, dim, skip);
    }

    private static Variable EmbeddingCore(ReadOnlySpan<int> indices, ReadOnlySpan<int> indexShape, Variable weight, int rows, int dim, int skip, EmbeddingNode? node)
    {
        var tape = Tape.Current;
        Span<int> shape = stackalloc int[indexShape.Length + 1];
        indexShape.CopyTo(shape);
        shape[^1] = dim;
        var y = tape.Allocate(shape);
        EmbeddingKernels.Gather(weight.Value.Span, rows, dim, indices, y.Span);
        if (node is null) return tape.Wrap(y);
        node.Weight = weight;
        node.Count = indices.Length;
        node.Skip = skip;
        return tape.Record(node, y);
    }

    private sealed class EmbeddingNode : Node
    {
        public Variable Weight = null!;
        public int[] Indices = [];
        public int Count, Skip;

        /// <summary>The node's index buffer with room for <paramref name="count"/> (kept from step to step).</summary>
        public int[] Buffer(int count)
        {
            if (Indices.Length < count) Indices = new int[count];
            return Indices;
        }

        internal override void Backward(Tape tape)
        {
            if (PartialGradient(tape, Weight) is not { } g) return;
            int rows = Weight.Value.Dim(0), dim = Weight.Value.Dim(1);
            EmbeddingKernels.ScatterAdd(Output.Grad!.Span, Indices.AsSpan(0, Count), g.Span, rows, dim, Skip);
        }

        internal override void Clear()
        {
            base.Clear();
            Weight = null!;
        }
    }
}
