using System.Runtime.CompilerServices;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;
using static NormSharp.Kernels.ElementwiseKernels;

namespace NormSharp.Kernels;

/// <summary>
/// Activation functions, forward and backward side by side, written once for every vector width on the
/// transcendental functions of <see cref="FloatMath{TV}"/>, so every width (tails included) gives the same bits.
/// Backwards of ReLU, tanh and sigmoid read the forward output; those of GELU and SiLU read the input.
/// </summary>
public static partial class ActivationKernels
{
    /// <summary>y = max(0, x) (NaN stays NaN).</summary>
    public static void ReluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("ReluForward", x.Length, y.Length, y.Length);
        Map(new Relu(), x, x, y);
    }

    /// <summary>dx = dy where y &gt; 0, else 0.</summary>
    public static void ReluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("ReluBackward", dy.Length, y.Length, dx.Length);
        Map(new ReluGrad(), dy, y, dx);
    }

    /// <summary>y = tanh(x).</summary>
    public static void TanhForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("TanhForward", x.Length, y.Length, y.Length);
        Map(new Tanh(), x, x, y);
    }

    /// <summary>dx = dy·(1 − y²).</summary>
    public static void TanhBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("TanhBackward", dy.Length, y.Length, dx.Length);
        Map(new TanhGrad(), dy, y, dx);
    }

    /// <summary>y = 1/(1 + e^−x).</summary>
    public static void SigmoidForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("SigmoidForward", x.Length, y.Length, y.Length);
        Map(new Sigmoid(), x, x, y);
    }

    /// <summary>dx = dy·y·(1 − y).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("SigmoidBackward", dy.Length, y.Length, dx.Length);
        Map(new SigmoidGrad(), dy, y, dx);
    }

    /// <summary>y = x·Φ(x) = x/2·(1 + erf(x/√2)) (the exact GELU, PyTorch's default).</summary>
    public static void GeluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("GeluForward", x.Length, y.Length, y.Length);
        Map(new Gelu(), x, x, y);
    }

    /// <summary>dx = dy·(Φ(x) + x·φ(x)).</summary>
    public static void GeluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("GeluBackward", dy.Length, x.Length, dx.Length);
        Map(new GeluGrad(), dy, x, dx);
    }

    /// <summary>y = x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch's <c>approximate='tanh'</c>).</summary>
    public static void GeluTanhForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("GeluTanhForward", x.Length, y.Length, y.Length);
        Map(new GeluTanh(), x, x, y);
    }

    /// <summary>The derivative of <see cref="GeluTanhForward"/>: dx = dy·(½(1 + t) + ½x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)).</summary>
    public static void GeluTanhBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("GeluTanhBackward", dy.Length, x.Length, dx.Length);
        Map(new GeluTanhGrad(), dy, x, dx);
    }

    /// <summary>y = x·sigmoid(x) (SiLU, also called swish).</summary>
    public static void SiluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("SiluForward", x.Length, y.Length, y.Length);
        Map(new Silu(), x, x, y);
    }

    /// <summary>dx = dy·s·(1 + x·(1 − s)) with s = sigmoid(x).</summary>
    public static void SiluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("SiluBackward", dy.Length, x.Length, dx.Length);
        Map(new SiluGrad(), dy, x, dx);
    }

    /// <summary>The exponential function of the kernels, element by element (the same bits at every width).</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("Exp", x.Length, y.Length, y.Length);
        Map(new ExpOp(), x, x, y);
    }

    private static void Check(string op, int a, int b, int c)
    {
        if (a != b || a != c) throw new ShapeMismatchException($"{op}: operands have {a}, {b} and {c} elements; they must match.");
    }

    private struct Relu : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV x, TV unused) where TV : unmanaged, IFloatVector<TV> => TV.Max(x, TV.Zero);
    }

    private struct ReluGrad : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV dy, TV y) where TV : unmanaged, IFloatVector<TV> => TV.Select(TV.GreaterThan(y, TV.Zero), dy, TV.Zero);
    }

    private struct Tanh : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV x, TV unused) where TV : unmanaged, IFloatVector<TV> => FloatMath<TV>.Tanh(x);
    }

    private struct TanhGrad : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV dy, TV y) where TV : unmanaged, IFloatVector<TV> => dy * TV.Fma(TV.Zero - y, y, TV.Create(1f));
    }

    private struct Sigmoid : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV x, TV unused) where TV : unmanaged, IFloatVector<TV> => FloatMath<TV>.Sigmoid(x);
    }

    private struct SigmoidGrad : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV dy, TV y) where TV : unmanaged, IFloatVector<TV> => dy * y * (TV.Create(1f) - y);
    }

    private struct Gelu : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV x, TV unused) where TV : unmanaged, IFloatVector<TV> => x * FloatMath<TV>.NormalCdf(x);
    }

    private struct GeluGrad : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV dy, TV x) where TV : unmanaged, IFloatVector<TV> =>
            dy * TV.Fma(x, FloatMath<TV>.NormalPdf(x), FloatMath<TV>.NormalCdf(x));
    }

    private struct GeluTanh : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV x, TV unused) where TV : unmanaged, IFloatVector<TV>
        {
            var half = TV.Create(0.5f);
            return half * x * (TV.Create(1f) + FloatMath<TV>.Tanh(FloatMath<TV>.GeluTanhArgument(x)));
        }
    }

    private struct GeluTanhGrad : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV dy, TV x) where TV : unmanaged, IFloatVector<TV>
        {
            var one = TV.Create(1f);
            var half = TV.Create(0.5f);
            var t = FloatMath<TV>.Tanh(FloatMath<TV>.GeluTanhArgument(x));
            // d/dx of √(2/π)·(x + 0.044715·x³)
            var du = TV.Create(0.7978845608028654f) * TV.Fma(TV.Create(3f * 0.044715f) * x, x, one);
            var slope = half * x * TV.Fma(TV.Zero - t, t, one) * du;
            return dy * TV.Fma(half, one + t, slope);
        }
    }

    private struct Silu : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV x, TV unused) where TV : unmanaged, IFloatVector<TV> => x * FloatMath<TV>.Sigmoid(x);
    }

    private struct SiluGrad : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV dy, TV x) where TV : unmanaged, IFloatVector<TV>
        {
            var one = TV.Create(1f);
            var s = FloatMath<TV>.Sigmoid(x);
            return dy * s * TV.Fma(x, one - s, one);
        }
    }

    private struct ExpOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV x, TV unused) where TV : unmanaged, IFloatVector<TV> => FloatMath<TV>.Exp(x);
    }
}
