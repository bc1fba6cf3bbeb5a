using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>Activation functions, forward and backward side by side. Backwards of ReLU, tanh and sigmoid read the forward output.</summary>
public static partial class ActivationKernels
{
    /// <summary>y = max(0, x).</summary>
    public static void ReluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("ReluForward", x.Length, y.Length, y.Length);
        TensorPrimitives.Max(x, 0f, y);
    }

    /// <summary>dx = dy where y &gt; 0, else 0.</summary>
    public static void ReluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("ReluBackward", dy.Length, y.Length, dx.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= dy.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var mask = Vector256.GreaterThan(Vector256.Create(y.Slice(i)), Vector256<float>.Zero);
                Vector256.BitwiseAnd(Vector256.Create(dy.Slice(i)), mask).CopyTo(dx.Slice(i));
            }
        }
        for (; i < dy.Length; i++) dx[i] = y[i] > 0f ? dy[i] : 0f;
    }

    /// <summary>y = tanh(x).</summary>
    public static void TanhForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("TanhForward", x.Length, y.Length, y.Length);
        TensorPrimitives.Tanh(x, y);
    }

    /// <summary>dx = dy·(1 − y²).</summary>
    public static void TanhBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("TanhBackward", dy.Length, y.Length, dx.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            for (; i <= dy.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var yv = Vector256.Create(y.Slice(i));
                (Vector256.Create(dy.Slice(i)) * (one - yv * yv)).CopyTo(dx.Slice(i));
            }
        }
        for (; i < dy.Length; i++) dx[i] = dy[i] * (1f - y[i] * y[i]);
    }

    /// <summary>y = 1/(1 + e^−x).</summary>
    public static void SigmoidForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("SigmoidForward", x.Length, y.Length, y.Length);
        TensorPrimitives.Sigmoid(x, y);
    }

    /// <summary>dx = dy·y·(1 − y).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("SigmoidBackward", dy.Length, y.Length, dx.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            for (; i <= dy.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var yv = Vector256.Create(y.Slice(i));
                (Vector256.Create(dy.Slice(i)) * yv * (one - yv)).CopyTo(dx.Slice(i));
            }
        }
        for (; i < dy.Length; i++) dx[i] = dy[i] * y[i] * (1f - y[i]);
    }

    /// <summary>y = x·Φ(x) = x/2·(1 + erf(x/√2)) (the exact GELU, PyTorch's default).</summary>
    public static void GeluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("GeluForward", x.Length, y.Length, y.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(0.5 * v * (1.0 + Erf(v * 0.70710678118654752)));
        }
    }

    /// <summary>dx = dy·(Φ(x) + x·φ(x)).</summary>
    public static void GeluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("GeluBackward", dy.Length, x.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double cdf = 0.5 * (1.0 + Erf(v * 0.70710678118654752));
            double pdf = Math.Exp(-0.5 * v * v) * 0.39894228040143268;
            dx[i] = (float)(dy[i] * (cdf + v * pdf));
        }
    }

    /// <summary>The error function through a Chebyshev-fitted complementary error function (fractional error below 1.2e-7, under float resolution).</summary>
    internal static double Erf(double x)
    {
        double t = 1.0 / (1.0 + 0.5 * Math.Abs(x));
        double y = 1.0 - t * Math.Exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
    }

    private static void Check(string op, int a, int b, int c)
    {
        if (a != b || a != c) throw new ShapeMismatchException($"{op}: operands have {a}, {b} and {c} elements; they must match.");
    }
}
