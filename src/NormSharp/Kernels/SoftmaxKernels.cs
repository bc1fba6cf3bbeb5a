using System.Numerics.Tensors;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>Softmax and log-softmax over the rows of a [rows, cols] matrix, with the row maximum subtracted for stability.</summary>
public static class SoftmaxKernels
{
    /// <summary>y[r] = softmax(x[r]).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        Check("Softmax", x.Length, y.Length, rows, cols);
        for (int r = 0; r < rows; r++) SoftmaxRow(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
    }

    /// <summary>Softmax of one row into <paramref name="y"/>; returns the row's log-sum-exp (computed with the maximum subtracted).</summary>
    internal static double SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        float sum = TensorPrimitives.Sum(y);
        TensorPrimitives.Multiply(y, 1f / sum, y);
        return max + Math.Log(sum);
    }

    /// <summary>dx = y ⊙ (dy − Σ dy·y) per row.</summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx, int rows, int cols)
    {
        Check("SoftmaxBackward", dy.Length, dx.Length, rows, cols);
        Check("SoftmaxBackward", y.Length, dx.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            var dxr = dx.Slice(r * cols, cols);
            float dot = TensorPrimitives.Dot(dyr, yr);
            TensorPrimitives.Subtract(dyr, dot, dxr);
            TensorPrimitives.Multiply(dxr, yr, dxr);
        }
    }

    /// <summary>y[r] = x[r] − max − log Σ exp(x[r] − max).</summary>
    public static void LogSoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        Check("LogSoftmax", x.Length, y.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float lse = LogSumExp(xr, yr);
            TensorPrimitives.Subtract(xr, lse, yr);
        }
    }

    /// <summary>dx = dy − exp(y)·Σ dy per row (y is the log-softmax output).</summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx, int rows, int cols)
    {
        Check("LogSoftmaxBackward", dy.Length, dx.Length, rows, cols);
        Check("LogSoftmaxBackward", y.Length, dx.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * cols, cols);
            var dxr = dx.Slice(r * cols, cols);
            float sum = TensorPrimitives.Sum(dyr);
            TensorPrimitives.Exp(y.Slice(r * cols, cols), dxr);
            TensorPrimitives.MultiplyAdd(dxr, -sum, dyr, dxr);
        }
    }

    /// <summary>log Σ exp(x), computed with the maximum subtracted; <paramref name="scratch"/> has x's length.</summary>
    internal static float LogSumExp(ReadOnlySpan<float> x, Span<float> scratch)
    {
        float max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max)) return max;
        TensorPrimitives.Subtract(x, max, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        return max + MathF.Log(TensorPrimitives.Sum(scratch));
    }

    private static void Check(string op, int xLen, int yLen, int rows, int cols)
    {
        if (rows < 0 || cols <= 0 && rows > 0 || xLen != (long)rows * cols || yLen != xLen)
            throw new ShapeMismatchException($"{op}: buffers of {xLen} and {yLen} elements do not hold [{rows}, {cols}].");
    }
}
