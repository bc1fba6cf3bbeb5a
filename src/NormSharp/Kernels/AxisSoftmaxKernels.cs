using System.Numerics.Tensors;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>
/// Softmax and log-softmax along the middle axis of x viewed as [outer, n, inner] (a dimension other than the
/// last). The work runs over whole rows of <c>inner</c> contiguous elements, vectorized, with the column
/// statistics (maximum, sum) held in a caller's scratch of <c>inner</c> elements each; the maximum is
/// subtracted first for stability. The last dimension (inner = 1) is <see cref="SoftmaxKernels"/>.
/// </summary>
public static class AxisSoftmaxKernels
{
    /// <summary>y = softmax(x) along the axis; <paramref name="scratch"/> holds at least 2·inner elements.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner, Span<float> scratch, bool log)
    {
        Check("AxisSoftmax", x.Length, y.Length, outer, n, inner, scratch.Length, 2);
        var max = scratch[..inner];
        var sum = scratch.Slice(inner, inner);
        int block = n * inner;
        for (int o = 0; o < outer; o++)
        {
            var xb = x.Slice(o * block, block);
            var yb = y.Slice(o * block, block);
            xb[..inner].CopyTo(max);
            for (int r = 1; r < n; r++) TensorPrimitives.Max(max, xb.Slice(r * inner, inner), max);
            // A column of −∞ has no finite maximum; subtracting 0 instead gives exp = 0 there and NaN after, as a row softmax does.
            for (int j = 0; j < inner; j++) if (float.IsNegativeInfinity(max[j])) max[j] = 0f;
            sum.Clear();
            for (int r = 0; r < n; r++)
            {
                var yr = yb.Slice(r * inner, inner);
                TensorPrimitives.Subtract(xb.Slice(r * inner, inner), max, yr);
                if (log)
                {
                    ActivationKernels.Exp(yr, yr);
                    TensorPrimitives.Add(sum, yr, sum);
                    TensorPrimitives.Subtract(xb.Slice(r * inner, inner), max, yr);
                }
                else
                {
                    ActivationKernels.Exp(yr, yr);
                    TensorPrimitives.Add(sum, yr, sum);
                }
            }
            if (log)
            {
                // The kernels' own exp and log, so the result does not depend on the vector width.
                for (int j = 0; j < inner; j++) sum[j] = (float)Simd.ScalarMath.Log(sum[j]);
                for (int r = 0; r < n; r++) TensorPrimitives.Subtract(yb.Slice(r * inner, inner), sum, yb.Slice(r * inner, inner));
            }
            else
            {
                for (int r = 0; r < n; r++) TensorPrimitives.Divide(yb.Slice(r * inner, inner), sum, yb.Slice(r * inner, inner));
            }
        }
    }

    /// <summary>
    /// The backward of <see cref="Forward"/> from its output y: softmax dx = y ⊙ (dy − Σ dy·y), log-softmax
    /// dx = dy − exp(y)·Σ dy, the sums along the axis; <paramref name="scratch"/> holds at least inner elements.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx, int outer, int n, int inner, Span<float> scratch, bool log)
    {
        Check("AxisSoftmaxBackward", dy.Length, dx.Length, outer, n, inner, scratch.Length, 1);
        Check("AxisSoftmaxBackward", y.Length, dx.Length, outer, n, inner, scratch.Length, 1);
        var acc = scratch[..inner];
        int block = n * inner;
        for (int o = 0; o < outer; o++)
        {
            var dyb = dy.Slice(o * block, block);
            var yb = y.Slice(o * block, block);
            var dxb = dx.Slice(o * block, block);
            acc.Clear();
            for (int r = 0; r < n; r++)
            {
                var dyr = dyb.Slice(r * inner, inner);
                if (log) TensorPrimitives.Add(acc, dyr, acc);
                else
                {
                    // dx as scratch for the product keeps the sum exact to one rounding per term.
                    var t = dxb.Slice(r * inner, inner);
                    TensorPrimitives.Multiply(dyr, yb.Slice(r * inner, inner), t);
                    TensorPrimitives.Add(acc, t, acc);
                }
            }
            for (int r = 0; r < n; r++)
            {
                var dxr = dxb.Slice(r * inner, inner);
                var yr = yb.Slice(r * inner, inner);
                if (log)
                {
                    ActivationKernels.Exp(yr, dxr);
                    TensorPrimitives.Multiply(dxr, acc, dxr);
                    TensorPrimitives.Subtract(dyb.Slice(r * inner, inner), dxr, dxr);
                }
                else
                {
                    TensorPrimitives.Subtract(dyb.Slice(r * inner, inner), acc, dxr);
                    TensorPrimitives.Multiply(dxr, yr, dxr);
                }
            }
        }
    }

    private static void Check(string op, int xLen, int yLen, int outer, int n, int inner, int scratch, int scratchRows)
    {
        if (outer < 0 || n < 0 || inner < 0 || xLen != (long)outer * n * inner || yLen != xLen || scratch < (long)scratchRows * inner)
            throw new ShapeMismatchException($"{op}: buffers of {xLen} and {yLen} elements and scratch of {scratch} do not fit [{outer}, {n}, {inner}].");
    }
}
