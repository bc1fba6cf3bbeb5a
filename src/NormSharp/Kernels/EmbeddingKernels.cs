using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>Embedding lookup: gathering rows of a [count, dim] table, and its backward, adding rows back in index order.</summary>
public static class EmbeddingKernels
{
    /// <summary>y[i, :] = weight[indices[i], :] for a [rows, dim] table.</summary>
    /// <exception cref="ShapeMismatchException">A span does not fit, or an index is outside the table.</exception>
    public static void Gather(ReadOnlySpan<float> weight, int rows, int dim, ReadOnlySpan<int> indices, Span<float> y)
    {
        Check("Gather", weight.Length, rows, dim, indices.Length, y.Length);
        for (int i = 0; i < indices.Length; i++)
        {
            int r = indices[i];
            if ((uint)r >= (uint)rows)
                throw new ShapeMismatchException($"Gather: index {r} at position {i} is outside a table of {rows} rows.");
            weight.Slice(r * dim, dim).CopyTo(y.Slice(i * dim, dim));
        }
    }

    /// <summary>
    /// dWeight[indices[i], :] += dy[i, :] for every i whose index is not <paramref name="skipRow"/> (−1 skips none),
    /// in order, so repeated indices add up deterministically.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A span does not fit, or an index is outside the table.</exception>
    public static void ScatterAdd(ReadOnlySpan<float> dy, ReadOnlySpan<int> indices, Span<float> dWeight, int rows, int dim, int skipRow)
    {
        Check("ScatterAdd", dWeight.Length, rows, dim, indices.Length, dy.Length);
        for (int i = 0; i < indices.Length; i++)
        {
            int r = indices[i];
            if ((uint)r >= (uint)rows)
                throw new ShapeMismatchException($"ScatterAdd: index {r} at position {i} is outside a table of {rows} rows.");
            if (r == skipRow) continue;
            ElementwiseKernels.AddInPlace(dWeight.Slice(r * dim, dim), dy.Slice(i * dim, dim));
        }
    }

    private static void Check(string op, int weight, int rows, int dim, int count, int y)
    {
        if (rows < 0 || dim < 0 || weight != (long)rows * dim || y != (long)count * dim)
            throw new ShapeMismatchException($"{op}: a table of {weight} elements for [{rows}, {dim}] and {y} output elements for {count} indices do not fit.");
    }
}
