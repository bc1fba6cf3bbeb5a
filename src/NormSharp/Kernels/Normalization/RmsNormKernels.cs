using static NormSharp.Kernels.Normalization.NormalizationArguments;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// RMS normalization over the last <c>cols</c> elements of each row: rrms = 1/sqrt(mean(x²) + eps),
/// y = x·rrms·weight. The row layout of the normalization core without centring (pivot 0, hi = lo = 0).
/// An empty weight span means no gain; an empty dweight span means not wanted.
/// </summary>
public static unsafe class RmsNormKernels
{
    /// <summary>Normalizes each row, keeping rrms per row for the backward.</summary>
    /// <exception cref="Errors.ShapeMismatchException">A span's length does not match rows and cols.</exception>
    /// <exception cref="Errors.InvalidValueException">eps is negative, NaN or infinite.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, Span<float> rrms, int rows, int cols, float eps)
    {
        const string Op = "RmsNorm";
        var shape = LayerNormKernels.CheckRows(Op, rows, cols);
        CheckEps(Op, eps);
        CheckLength(Op, "x", x.Length, (long)rows * cols, shape);
        CheckLength(Op, "y", y.Length, (long)rows * cols, shape);
        CheckPerUnit(Op, "rrms", rrms.Length, rows, "rows");
        CheckOptional(Op, "weight", weight.Length, cols, "normalized elements");
        if (rows == 0) return;
        if (cols == 0)
        {
            rrms.Fill(1f / MathF.Sqrt(eps));
            return;
        }
        fixed (float* px = x, pw = weight, py = y, pr = rrms)
            RowNormalization.Forward(false, px, weight.IsEmpty ? null : pw, null, py, null, pr, rows, cols, eps);
    }

    /// <summary>
    /// Gradients given <paramref name="dy"/>: dx = rrms·(g − x̂·mean(g·x̂)) with g = weight⊙dy and x̂ = x·rrms
    /// (overwritten), and dweight = Σ dy·x̂ over rows when wanted (overwritten, reduced in chunk order).
    /// </summary>
    /// <exception cref="Errors.ShapeMismatchException">A span's length does not match rows and cols.</exception>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> rrms, Span<float> dx, Span<float> dweight, int rows, int cols)
    {
        const string Op = "RmsNormBackward";
        var shape = LayerNormKernels.CheckRows(Op, rows, cols);
        long n = (long)rows * cols;
        CheckLength(Op, "dy", dy.Length, n, shape);
        CheckLength(Op, "x", x.Length, n, shape);
        CheckLength(Op, "dx", dx.Length, n, shape);
        CheckPerUnit(Op, "rrms", rrms.Length, rows, "rows");
        CheckOptional(Op, "weight", weight.Length, cols, "normalized elements");
        CheckOptional(Op, "dweight", dweight.Length, cols, "normalized elements");
        LayerNormKernels.RunBackward(false, dy, x, weight, default, rrms, dx, dweight, default, rows, cols);
    }
}
