using System.Numerics.Tensors;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>
/// Elementwise binary operations under NumPy/PyTorch broadcasting, and the two maps between a shape and a
/// shape it broadcasts to: <see cref="BroadcastTo"/> (PyTorch's <c>expand</c>, here a copy) and
/// <see cref="SumTo"/> (its adjoint, the sum over the stretched dimensions: the gradient of a broadcast operand).
/// Shapes are aligned at their trailing dimensions; an operand's dimension of size 1, or a missing leading
/// one, stretches to the output's. Adjacent dimensions that broadcast alike are merged first, so the innermost
/// loop runs over the longest contiguous stretch and is vectorized.
/// </summary>
/// <remarks>
/// Every result is the same bits on every CPU: the elementwise operations are single IEEE operations per
/// element, and <see cref="SumTo"/> adds in a fixed order in double precision.
/// </remarks>
public static class BroadcastKernels
{
    /// <summary>y = a + b, broadcast to <paramref name="yShape"/>.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(AddOperator), a, aShape, b, bShape, y, yShape, "Add");

    /// <summary>y = a − b, broadcast to <paramref name="yShape"/>.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Sub(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(SubOperator), a, aShape, b, bShape, y, yShape, "Sub");

    /// <summary>y = a ⊙ b, broadcast to <paramref name="yShape"/>.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Mul(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(MulOperator), a, aShape, b, bShape, y, yShape, "Mul");

    /// <summary>y = a / b, broadcast to <paramref name="yShape"/>.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Div(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(DivOperator), a, aShape, b, bShape, y, yShape, "Div");

    /// <summary>y = max(a, b) elementwise (NaN if either is NaN, as PyTorch's <c>maximum</c>), broadcast to <paramref name="yShape"/>.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Maximum(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(MaxOperator), a, aShape, b, bShape, y, yShape, "Maximum");

    /// <summary>y = min(a, b) elementwise (NaN if either is NaN, as PyTorch's <c>minimum</c>), broadcast to <paramref name="yShape"/>.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Minimum(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(MinOperator), a, aShape, b, bShape, y, yShape, "Minimum");

    /// <summary>y = a^b elementwise (in double precision, rounded once), broadcast to <paramref name="yShape"/>.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Pow(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(PowOperator), a, aShape, b, bShape, y, yShape, "Pow");

    /// <summary>
    /// y = condition ≠ 0 ? a : b elementwise (PyTorch's <c>where</c>; NaN counts as true), all three broadcast to
    /// <paramref name="yShape"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Where(ReadOnlySpan<float> condition, ReadOnlySpan<int> conditionShape, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape,
        ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
    {
        BroadcastTo(b, bShape, y, yShape);
        Binary(default(SelectOperator), condition, conditionShape, a, aShape, y, yShape, "Where");
    }

    /// <summary>y = condition ≠ 0 ? x : 0 (or the reverse when <paramref name="keepWhereTrue"/> is false), the condition broadcast to x's shape.</summary>
    /// <exception cref="ShapeMismatchException">The condition does not broadcast to <paramref name="xShape"/>, or a span does not hold its shape.</exception>
    public static void Mask(ReadOnlySpan<float> x, ReadOnlySpan<int> xShape, ReadOnlySpan<float> condition, ReadOnlySpan<int> conditionShape, bool keepWhereTrue, Span<float> y)
        => Binary(new MaskOperator(keepWhereTrue), x, xShape, condition, conditionShape, y, xShape, "Mask");

    /// <summary>y = 1 where a equals b (or both are NaN), else 0, broadcast to <paramref name="yShape"/>: the ties of an extremum.</summary>
    /// <exception cref="ShapeMismatchException">An operand does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void Matches(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(MatchOperator), a, aShape, b, bShape, y, yShape, "Matches");

    /// <summary>
    /// Copies <paramref name="x"/> of <paramref name="xShape"/> into <paramref name="y"/> of <paramref name="yShape"/>,
    /// repeating it along the dimensions where it broadcasts.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="xShape"/> does not broadcast to <paramref name="yShape"/>, or a span does not hold its shape.</exception>
    public static void BroadcastTo(ReadOnlySpan<float> x, ReadOnlySpan<int> xShape, Span<float> y, ReadOnlySpan<int> yShape)
        => Binary(default(FirstOperator), x, xShape, x, xShape, y, yShape, "BroadcastTo");

    /// <summary>
    /// Sums <paramref name="x"/> of <paramref name="xShape"/> over the dimensions where <paramref name="yShape"/>
    /// broadcasts to it, writing (overwriting) <paramref name="y"/>: the adjoint of <see cref="BroadcastTo"/>, and the
    /// sum over any set of dimensions when <paramref name="yShape"/> has 1 there. The sums are taken in double
    /// precision in a fixed order, so the result does not depend on the CPU's vector width.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="yShape"/> does not broadcast to <paramref name="xShape"/>, or a span does not hold its shape.</exception>
    public static void SumTo(ReadOnlySpan<float> x, ReadOnlySpan<int> xShape, Span<float> y, ReadOnlySpan<int> yShape)
        => SumToScaled(x, xShape, y, yShape, 1.0);

    /// <summary><see cref="SumTo"/> with each sum multiplied by <paramref name="scale"/> before its one rounding to float (a mean).</summary>
    internal static void SumToScaled(ReadOnlySpan<float> x, ReadOnlySpan<int> xShape, Span<float> y, ReadOnlySpan<int> yShape, double scale)
    {
        CheckSpan("SumTo", "input", x.Length, xShape);
        CheckOperand("SumTo", "result", yShape, y.Length, xShape);
        if (y.Length == 0) return;
        if (x.Length == 0)
        {
            y.Fill((float)(0.0 * scale)); // a mean over nothing is NaN, as in PyTorch
            return;
        }
        int rank = xShape.Length;
        Span<int> sizes = stackalloc int[rank];
        Span<int> yStride = stackalloc int[rank];
        Span<int> xStride = stackalloc int[rank];
        int n = Collapse(xShape, yShape, xShape, sizes, yStride, xStride);
        if (n == 0)
        {
            y[0] = (float)(x[0] * scale);
            return;
        }
        // Split the collapsed dimensions into kept ones (y has them) and reduced ones (y has 1 there).
        Span<int> keptSizes = stackalloc int[n], keptStrides = stackalloc int[n];
        Span<int> redSizes = stackalloc int[n], redStrides = stackalloc int[n];
        int kept = 0, reduced = 0;
        for (int d = 0; d < n; d++)
        {
            if (yStride[d] != 0) { keptSizes[kept] = sizes[d]; keptStrides[kept++] = xStride[d]; }
            else { redSizes[reduced] = sizes[d]; redStrides[reduced++] = xStride[d]; }
        }
        if (reduced == 0)
        {
            if (scale == 1.0) x.CopyTo(y);
            else for (int i = 0; i < y.Length; i++) y[i] = (float)(x[i] * scale);
            return;
        }
        if (yStride[n - 1] != 0)
            SumOuterDims(x, y, keptSizes[..kept], keptStrides[..kept], redSizes[..reduced], redStrides[..reduced], scale);
        else
            SumInnerDim(x, y, keptSizes[..kept], keptStrides[..kept], redSizes[..reduced], redStrides[..reduced], scale);
    }

    /// <summary>
    /// The shape both <paramref name="a"/> and <paramref name="b"/> broadcast to, written into <paramref name="result"/>
    /// (which has room for the longer rank); returns that rank.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast; the message names <paramref name="op"/> and both shapes.</exception>
    public static int BroadcastShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> result, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        if (result.Length < rank)
            throw new ShapeMismatchException($"{op}: room for {result.Length} dimensions, the broadcast shape has {rank}.");
        for (int i = 1; i <= rank; i++)
        {
            int da = i <= a.Length ? a[^i] : 1;
            int db = i <= b.Length ? b[^i] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ShapeMismatchException($"{op}: shapes {ShapeMismatchException.Format(a)} and {ShapeMismatchException.Format(b)} do not broadcast (dimension {-i} is {da} against {db}; sizes must match or one must be 1).");
            result[rank - i] = da == 1 ? db : da;
        }
        return rank;
    }

    /// <summary>y = op(a, b) with both operands broadcast to <paramref name="yShape"/>; y may alias an operand of its own shape.</summary>
    internal static void Binary<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> y, ReadOnlySpan<int> yShape, string name) where TOp : struct, IBroadcastOperator
    {
        CheckSpan(name, "result", y.Length, yShape);
        CheckOperand(name, "first operand", aShape, a.Length, yShape);
        CheckOperand(name, "second operand", bShape, b.Length, yShape);
        if (y.Length == 0) return;
        int rank = yShape.Length;
        Span<int> sizes = stackalloc int[rank];
        Span<int> strideA = stackalloc int[rank];
        Span<int> strideB = stackalloc int[rank];
        int n = Collapse(yShape, aShape, bShape, sizes, strideA, strideB);
        if (n == 0)
        {
            op.Apply(a[..1], b[..1], y[..1]);
            return;
        }
        int inner = sizes[n - 1];
        bool aRuns = strideA[n - 1] != 0, bRuns = strideB[n - 1] != 0;
        int outer = y.Length / inner;
        Span<int> index = stackalloc int[n];
        index.Clear();
        int offA = 0, offB = 0;
        for (int o = 0, yo = 0; o < outer; o++, yo += inner)
        {
            var ys = y.Slice(yo, inner);
            if (aRuns && bRuns) op.Apply(a.Slice(offA, inner), b.Slice(offB, inner), ys);
            else if (aRuns) op.Apply(a.Slice(offA, inner), b[offB], ys);
            else if (bRuns) op.Apply(a[offA], b.Slice(offB, inner), ys);
            else op.Apply(a[offA], b[offB], ys); // both stretch (an operand passed twice, as in BroadcastTo)
            // Odometer over the outer dimensions.
            for (int d = n - 2; d >= 0; d--)
            {
                offA += strideA[d];
                offB += strideB[d];
                if (++index[d] < sizes[d]) break;
                offA -= strideA[d] * sizes[d];
                offB -= strideB[d] * sizes[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>
    /// Reduces the iteration space of <paramref name="outShape"/> with operands <paramref name="a"/> and
    /// <paramref name="b"/> (right-aligned, each broadcasting to it) to as few dimensions as possible: dimensions
    /// of size 1 are dropped and neighbours that both operands treat alike (stretched or not) are merged.
    /// Writes each dimension's size and its element stride in a and in b (0 where that operand stretches),
    /// outermost first; returns the number of dimensions (0 when the output has a single element).
    /// </summary>
    internal static int Collapse(ReadOnlySpan<int> outShape, ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> sizes, Span<int> strideA, Span<int> strideB)
    {
        int rank = outShape.Length;
        int n = 0;
        int runA = 1, runB = 1; // contiguous stride of the next (outer) dimension in each operand
        bool lastA = false, lastB = false;
        for (int d = rank - 1; d >= 0; d--)
        {
            int size = outShape[d];
            if (size == 1) continue;
            int ia = d - (rank - a.Length), ib = d - (rank - b.Length);
            bool stretchA = ia < 0 || a[ia] == 1;
            bool stretchB = ib < 0 || b[ib] == 1;
            if (n > 0 && stretchA == lastA && stretchB == lastB) sizes[n - 1] *= size;
            else
            {
                sizes[n] = size;
                strideA[n] = stretchA ? 0 : runA;
                strideB[n] = stretchB ? 0 : runB;
                n++;
                (lastA, lastB) = (stretchA, stretchB);
            }
            if (!stretchA) runA *= size;
            if (!stretchB) runB *= size;
        }
        sizes[..n].Reverse();
        strideA[..n].Reverse();
        strideB[..n].Reverse();
        return n;
    }

    /// <summary>The innermost dimension is kept: add whole rows of x into column accumulators, in blocks that fit on the stack.</summary>
    private static void SumOuterDims(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<int> keptSizes, ReadOnlySpan<int> keptStrides, ReadOnlySpan<int> redSizes, ReadOnlySpan<int> redStrides, double scale)
    {
        const int Block = 256;
        int width = keptSizes[^1];
        int groups = y.Length / width;
        Span<double> acc = stackalloc double[Block];
        int kOuter = keptSizes.Length - 1;
        Span<int> keptIndex = stackalloc int[Math.Max(kOuter, 1)];
        Span<int> redIndex = stackalloc int[redSizes.Length];
        keptIndex.Clear();
        int keptBase = 0;
        for (int g = 0; g < groups; g++)
        {
            for (int c0 = 0; c0 < width; c0 += Block)
            {
                int w = Math.Min(Block, width - c0);
                var a = acc[..w];
                a.Clear();
                redIndex.Clear();
                int redOff = 0;
                while (true)
                {
                    ReductionKernels.AddWidened(x.Slice(keptBase + redOff + c0, w), a);
                    if (!Advance(redIndex, redSizes, redStrides, ref redOff)) break;
                }
                var ys = y.Slice(g * width + c0, w);
                for (int j = 0; j < w; j++) ys[j] = (float)(a[j] * scale);
            }
            Advance(keptIndex[..kOuter], keptSizes[..kOuter], keptStrides[..kOuter], ref keptBase);
        }
    }

    /// <summary>The innermost dimension is reduced: each result element is a sum of contiguous runs of x.</summary>
    private static void SumInnerDim(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<int> keptSizes, ReadOnlySpan<int> keptStrides, ReadOnlySpan<int> redSizes, ReadOnlySpan<int> redStrides, double scale)
    {
        int run = redSizes[^1];
        int rOuter = redSizes.Length - 1;
        Span<int> keptIndex = stackalloc int[keptSizes.Length];
        Span<int> redIndex = stackalloc int[Math.Max(rOuter, 1)];
        keptIndex.Clear();
        int keptBase = 0;
        for (int i = 0; i < y.Length; i++)
        {
            double s = 0;
            redIndex.Clear();
            int redOff = 0;
            while (true)
            {
                s += ReductionKernels.SumDouble(x.Slice(keptBase + redOff, run));
                if (!Advance(redIndex[..rOuter], redSizes[..rOuter], redStrides[..rOuter], ref redOff)) break;
            }
            y[i] = (float)(s * scale);
            Advance(keptIndex, keptSizes, keptStrides, ref keptBase);
        }
    }

    /// <summary>Steps a multi-index (last dimension fastest), keeping <paramref name="offset"/> = Σ index·stride; false after the last.</summary>
    internal static bool Advance(Span<int> index, ReadOnlySpan<int> sizes, ReadOnlySpan<int> strides, ref int offset)
    {
        for (int d = index.Length - 1; d >= 0; d--)
        {
            offset += strides[d];
            if (++index[d] < sizes[d]) return true;
            offset -= strides[d] * sizes[d];
            index[d] = 0;
        }
        return false;
    }

    private static void CheckSpan(string op, string what, int length, ReadOnlySpan<int> shape)
    {
        if (length != Tensors.Tensor.CheckedLength(shape))
            throw new ShapeMismatchException($"{op}: the {what} has {length} elements, but shape {ShapeMismatchException.Format(shape)} needs {Tensors.Tensor.CheckedLength(shape)}.");
    }

    private static void CheckOperand(string op, string what, ReadOnlySpan<int> shape, int length, ReadOnlySpan<int> target)
    {
        CheckSpan(op, what, length, shape);
        bool fits = shape.Length <= target.Length;
        for (int i = 1; fits && i <= shape.Length; i++)
            fits = shape[^i] == 1 || shape[^i] == target[^i];
        if (!fits)
            throw new ShapeMismatchException($"{op}: the {what}'s shape {ShapeMismatchException.Format(shape)} does not broadcast to {ShapeMismatchException.Format(target)}.");
    }
}

/// <summary>An elementwise binary operation over runs, in the three forms a broadcast loop needs.</summary>
internal interface IBroadcastOperator
{
    /// <summary>y[i] = op(a[i], b[i]).</summary>
    void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    /// <summary>y[i] = op(a[i], b).</summary>
    void Apply(ReadOnlySpan<float> a, float b, Span<float> y);

    /// <summary>y[i] = op(a, b[i]).</summary>
    void Apply(float a, ReadOnlySpan<float> b, Span<float> y);

    /// <summary>y[i] = op(a, b) for every i.</summary>
    void Apply(float a, float b, Span<float> y);
}

internal readonly struct AddOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y);
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Add(a, b, y);
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(b, a, y);
    public void Apply(float a, float b, Span<float> y) => y.Fill(a + b);
}

internal readonly struct SubOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
    public void Apply(float a, float b, Span<float> y) => y.Fill(a - b);
}

internal readonly struct MulOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(b, a, y);
    public void Apply(float a, float b, Span<float> y) => y.Fill(a * b);
}

internal readonly struct DivOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    public void Apply(float a, float b, Span<float> y) => y.Fill(a / b);
}

internal readonly struct MaxOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(a, b, y);
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Max(a, b, y);
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(b, a, y);
    public void Apply(float a, float b, Span<float> y) => y.Fill(MathF.Max(a, b));
}

internal readonly struct MinOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Min(a, b, y);
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Min(a, b, y);
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Min(b, a, y);
    public void Apply(float a, float b, Span<float> y) => y.Fill(MathF.Min(a, b));
}

internal readonly struct PowOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = (float)Math.Pow(a[i], b[i]); }
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = (float)Math.Pow(a[i], b); }
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = (float)Math.Pow(a, b[i]); }
    public void Apply(float a, float b, Span<float> y) => y.Fill((float)Math.Pow(a, b));
}

/// <summary>y = c ≠ 0 ? v : y, where the operands are (c, v): y must hold the alternative already.</summary>
internal readonly struct SelectOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> c, ReadOnlySpan<float> v, Span<float> y) { for (int i = 0; i < y.Length; i++) if (c[i] != 0f) y[i] = v[i]; }
    public void Apply(ReadOnlySpan<float> c, float v, Span<float> y) { for (int i = 0; i < y.Length; i++) if (c[i] != 0f) y[i] = v; }
    public void Apply(float c, ReadOnlySpan<float> v, Span<float> y) { if (c != 0f) v.CopyTo(y); }
    public void Apply(float c, float v, Span<float> y) { if (c != 0f) y.Fill(v); }
}

/// <summary>y = (c ≠ 0) == keep ? x : 0, where the operands are (x, c).</summary>
internal readonly struct MaskOperator(bool keep) : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> c, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = (c[i] != 0f) == keep ? x[i] : 0f; }
    public void Apply(ReadOnlySpan<float> x, float c, Span<float> y) { if ((c != 0f) == keep) x.CopyTo(y); else y.Clear(); }
    public void Apply(float x, ReadOnlySpan<float> c, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = (c[i] != 0f) == keep ? x : 0f; }
    public void Apply(float x, float c, Span<float> y) => y.Fill((c != 0f) == keep ? x : 0f);
}

/// <summary>y = 1 where a = b or both are NaN, else 0.</summary>
internal readonly struct MatchOperator : IBroadcastOperator
{
    private static float Match(float a, float b) => a == b || float.IsNaN(a) && float.IsNaN(b) ? 1f : 0f;
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = Match(a[i], b[i]); }
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = Match(a[i], b); }
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < y.Length; i++) y[i] = Match(a, b[i]); }
    public void Apply(float a, float b, Span<float> y) => y.Fill(Match(a, b));
}

/// <summary>y = a: with a passed as both operands, the broadcast loop becomes an expanding copy.</summary>
internal readonly struct FirstOperator : IBroadcastOperator
{
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => a.CopyTo(y);
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => a.CopyTo(y);
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => y.Fill(a);
    public void Apply(float a, float b, Span<float> y) => y.Fill(a);
}
