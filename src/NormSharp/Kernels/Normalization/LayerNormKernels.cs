using NormSharp.Threading;
using static NormSharp.Kernels.Normalization.NormalizationArguments;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Layer normalization over the last <c>cols</c> elements of each of <c>rows</c> rows (PyTorch semantics:
/// biased variance, rstd = 1/sqrt(var + eps), y = (x − mean)·rstd·weight + bias), a thin row layout over the
/// normalization core (<see cref="Moments"/>, <see cref="NormalizeStep"/>). Rows are split over the cores.
/// An empty weight or bias span means none; an empty dweight or dbias span means not wanted.
/// Results are bit-identical on every vector width and thread count.
/// </summary>
public static unsafe class LayerNormKernels
{
    /// <summary>Normalizes each row of <paramref name="x"/> into <paramref name="y"/>, keeping mean and rstd per row for the backward.</summary>
    /// <exception cref="Errors.ShapeMismatchException">A span's length does not match rows and cols.</exception>
    /// <exception cref="Errors.InvalidValueException">eps is negative, NaN or infinite.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, Span<float> mean, Span<float> rstd, int rows, int cols, float eps)
    {
        const string Op = "LayerNorm";
        var shape = CheckRows(Op, rows, cols);
        CheckEps(Op, eps);
        CheckLength(Op, "x", x.Length, (long)rows * cols, shape);
        CheckLength(Op, "y", y.Length, (long)rows * cols, shape);
        CheckPerUnit(Op, "mean", mean.Length, rows, "rows");
        CheckPerUnit(Op, "rstd", rstd.Length, rows, "rows");
        CheckOptional(Op, "weight", weight.Length, cols, "normalized elements");
        CheckOptional(Op, "bias", bias.Length, cols, "normalized elements");
        if (rows == 0) return;
        if (cols == 0)
        {
            mean.Clear();
            rstd.Fill(1f / MathF.Sqrt(eps));
            return;
        }
        fixed (float* px = x, pw = weight, pb = bias, py = y, pm = mean, pr = rstd)
            RowNormalization.Forward(true, px, weight.IsEmpty ? null : pw, bias.IsEmpty ? null : pb, py, pm, pr, rows, cols, eps);
    }

    /// <summary>
    /// Gradients of a layer normalization given the upstream gradient <paramref name="dy"/> and the forward's
    /// <paramref name="mean"/> and <paramref name="rstd"/>: dx always (overwritten), dweight and dbias when their spans
    /// are not empty (overwritten). The parameter gradients are summed per chunk of rows (chunks fixed by the sizes)
    /// and the chunks added in order.
    /// </summary>
    /// <exception cref="Errors.ShapeMismatchException">A span's length does not match rows and cols.</exception>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, Span<float> dx, Span<float> dweight, Span<float> dbias, int rows, int cols)
    {
        const string Op = "LayerNormBackward";
        var shape = CheckRows(Op, rows, cols);
        long n = (long)rows * cols;
        CheckLength(Op, "dy", dy.Length, n, shape);
        CheckLength(Op, "x", x.Length, n, shape);
        CheckLength(Op, "dx", dx.Length, n, shape);
        CheckPerUnit(Op, "mean", mean.Length, rows, "rows");
        CheckPerUnit(Op, "rstd", rstd.Length, rows, "rows");
        CheckOptional(Op, "weight", weight.Length, cols, "normalized elements");
        CheckOptional(Op, "dweight", dweight.Length, cols, "normalized elements");
        CheckOptional(Op, "dbias", dbias.Length, cols, "normalized elements");
        RunBackward(true, dy, x, weight, mean, rstd, dx, dweight, dbias, rows, cols);
    }

    /// <summary>Rows and cols not negative, and their product within a span; returns the shape for messages.</summary>
    internal static InputShape CheckRows(string op, int rows, int cols)
    {
        CheckSize(op, "rows", "rows", rows, 0);
        CheckSize(op, "cols", "cols", cols, 0);
        var shape = new InputShape(rows, cols);
        CheckTotal(op, shape);
        return shape;
    }

    /// <summary>The row backward shared with RMSNorm (not centred: no mean, no dbias).</summary>
    internal static void RunBackward(bool centered, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> rstd, Span<float> dx, Span<float> dweight, Span<float> dbias, int rows, int cols)
    {
        dweight.Clear();
        dbias.Clear();
        if (rows == 0 || cols == 0) return;
        int chunks = ParallelFor.ChunkCount(rows, RowNormalization.Grain(cols));
        bool grads = !dweight.IsEmpty || !dbias.IsEmpty;
        // Both partial regions are written whenever either gradient is wanted (one may go unread).
        float[] partial = RowScratch.Zeroed(grads ? 2 * chunks * cols : 0);
        fixed (float* pdy = dy, px = x, pw = weight, pm = mean, pr = rstd, pdx = dx, pp = partial)
            RowNormalization.Backward(centered, pdy, px, weight.IsEmpty ? null : pw, pm, pr, pdx, grads ? pp : null, rows, cols, chunks);
        for (int c = 0; c < chunks && grads; c++)
        {
            if (!dweight.IsEmpty) ElementwiseKernels.AddInPlace(dweight, partial.AsSpan(c * cols, cols));
            if (!dbias.IsEmpty) ElementwiseKernels.AddInPlace(dbias, partial.AsSpan((chunks + c) * cols, cols));
        }
    }
}
