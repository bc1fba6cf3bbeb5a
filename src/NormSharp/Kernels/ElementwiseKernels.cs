using System.Numerics.Tensors;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>Elementwise arithmetic and reductions over spans, vectorized through <see cref="TensorPrimitives"/>.</summary>
public static class ElementwiseKernels
{
    /// <summary>dst = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        SameLength("Add", a.Length, b.Length, dst.Length);
        TensorPrimitives.Add(a, b, dst);
    }

    /// <summary>dst = a − b.</summary>
    public static void Sub(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        SameLength("Sub", a.Length, b.Length, dst.Length);
        TensorPrimitives.Subtract(a, b, dst);
    }

    /// <summary>dst = a ⊙ b.</summary>
    public static void Mul(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        SameLength("Mul", a.Length, b.Length, dst.Length);
        TensorPrimitives.Multiply(a, b, dst);
    }

    /// <summary>dst = s·a (dst may be a).</summary>
    public static void Scale(ReadOnlySpan<float> a, float s, Span<float> dst)
    {
        SameLength("Scale", a.Length, dst.Length, dst.Length);
        TensorPrimitives.Multiply(a, s, dst);
    }

    /// <summary>dst += s·a.</summary>
    public static void AddScaled(Span<float> dst, ReadOnlySpan<float> a, float s)
    {
        SameLength("AddScaled", a.Length, dst.Length, dst.Length);
        TensorPrimitives.MultiplyAdd(a, s, dst, dst);
    }

    /// <summary>dst += a.</summary>
    public static void AddInPlace(Span<float> dst, ReadOnlySpan<float> a)
    {
        SameLength("AddInPlace", a.Length, dst.Length, dst.Length);
        TensorPrimitives.Add(dst, a, dst);
    }

    /// <summary>dst[r, :] = x[r, :] + rowVector for every row of a [rows, cols] matrix (dst may be x).</summary>
    public static void AddRowBroadcast(ReadOnlySpan<float> x, ReadOnlySpan<float> rowVector, Span<float> dst, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || x.Length != (long)rows * cols || dst.Length != x.Length || rowVector.Length != cols)
            throw new ShapeMismatchException($"AddRowBroadcast: x has {x.Length} elements, dst {dst.Length}, the row vector {rowVector.Length}, for [{rows}, {cols}].");
        for (int r = 0; r < rows; r++)
            TensorPrimitives.Add(x.Slice(r * cols, cols), rowVector, dst.Slice(r * cols, cols));
    }

    /// <summary>dst[c] = Σ_r x[r, c] (or += when <paramref name="accumulate"/>): a bias gradient. Rows are summed in order, so the result is deterministic.</summary>
    public static void SumOverRows(ReadOnlySpan<float> x, Span<float> dst, int rows, int cols, bool accumulate)
    {
        if (rows < 0 || cols < 0 || x.Length != (long)rows * cols || dst.Length != cols)
            throw new ShapeMismatchException($"SumOverRows: x has {x.Length} elements and dst {dst.Length} for [{rows}, {cols}].");
        if (!accumulate) dst.Clear();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(dst, x.Slice(r * cols, cols), dst);
    }

    /// <summary>Σ x², accumulated in double over float blocks.</summary>
    public static double SumSquares(ReadOnlySpan<float> x)
    {
        const int Block = 4096;
        double s = 0;
        for (int i = 0; i < x.Length; i += Block)
        {
            var part = x.Slice(i, Math.Min(Block, x.Length - i));
            s += TensorPrimitives.SumOfSquares(part);
        }
        return s;
    }

    /// <summary>Σ a·b, accumulated in double over float blocks.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        SameLength("Dot", a.Length, b.Length, b.Length);
        const int Block = 4096;
        double s = 0;
        for (int i = 0; i < a.Length; i += Block)
        {
            int n = Math.Min(Block, a.Length - i);
            s += TensorPrimitives.Dot(a.Slice(i, n), b.Slice(i, n));
        }
        return s;
    }

    /// <summary>True when no element is NaN or infinite.</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        // MaxMagnitude propagates NaN and returns ±∞ if present, so one vectorized pass decides.
        return x.IsEmpty || float.IsFinite(TensorPrimitives.MaxMagnitude(x));
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public static void Fill(Span<float> dst, float value) => dst.Fill(value);

    private static void SameLength(string op, int a, int b, int dst)
    {
        if (a != b || a != dst)
            throw new ShapeMismatchException($"{op}: operands have {a}, {b} and {dst} elements; they must match.");
    }
}
