namespace NormSharp.Kernels;

public static partial class ActivationKernels
{
    private const double SqrtTwoOverPi = 0.79788456080286536;
    private const double GeluCubic = 0.044715;

    /// <summary>y = x·σ(x) (SiLU, also called swish), evaluated in double precision.</summary>
    public static void SiluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("SiluForward", x.Length, y.Length, y.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(v / (1.0 + Math.Exp(-v)));
        }
    }

    /// <summary>dx = dy·σ(x)·(1 + x·(1 − σ(x))).</summary>
    public static void SiluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("SiluBackward", dy.Length, x.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double s = 1.0 / (1.0 + Math.Exp(-v));
            dx[i] = (float)(dy[i] * s * (1.0 + v * (1.0 - s)));
        }
    }

    /// <summary>y = x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))): GELU's tanh approximation (PyTorch's <c>approximate="tanh"</c>).</summary>
    public static void GeluTanhForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("GeluTanhForward", x.Length, y.Length, y.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(0.5 * v * (1.0 + Math.Tanh(SqrtTwoOverPi * (v + GeluCubic * v * v * v))));
        }
    }

    /// <summary>dx = dy·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715·x²)) with t the forward's tanh.</summary>
    public static void GeluTanhBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("GeluTanhBackward", dy.Length, x.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double t = Math.Tanh(SqrtTwoOverPi * (v + GeluCubic * v * v * v));
            double inner = SqrtTwoOverPi * (1.0 + 3.0 * GeluCubic * v * v);
            dx[i] = (float)(dy[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * inner));
        }
    }
}
