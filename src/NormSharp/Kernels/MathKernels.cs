using System.Numerics.Tensors;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>
/// Elementwise mathematical functions and their derivatives, forward and backward side by side. Transcendental
/// functions are evaluated in double precision and rounded once to float, so the result is the correctly rounded
/// value in all but vanishingly rare cases and does not depend on the CPU's vector instructions.
/// </summary>
public static class MathKernels
{
    /// <summary>y = eˣ.</summary>
    public static void ExpForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("ExpForward", x.Length, y.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Exp(x[i]);
    }

    /// <summary>dx = dy·y (y = eˣ is the forward output).</summary>
    public static void ExpBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("ExpBackward", dy.Length, y.Length, dx.Length);
        TensorPrimitives.Multiply(dy, y, dx);
    }

    /// <summary>y = ln x (NaN below 0, −∞ at 0).</summary>
    public static void LogForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("LogForward", x.Length, y.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Log(x[i]);
    }

    /// <summary>dx = dy / x.</summary>
    public static void LogBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("LogBackward", dy.Length, x.Length, dx.Length);
        TensorPrimitives.Divide(dy, x, dx);
    }

    /// <summary>y = √x (exactly rounded, NaN below 0).</summary>
    public static void SqrtForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("SqrtForward", x.Length, y.Length, y.Length);
        TensorPrimitives.Sqrt(x, y);
    }

    /// <summary>dx = dy / (2y) (y = √x is the forward output).</summary>
    public static void SqrtBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx)
    {
        Check("SqrtBackward", dy.Length, y.Length, dx.Length);
        for (int i = 0; i < dy.Length; i++) dx[i] = dy[i] / (2f * y[i]);
    }

    /// <summary>y = |x|.</summary>
    public static void AbsForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Check("AbsForward", x.Length, y.Length, y.Length);
        TensorPrimitives.Abs(x, y);
    }

    /// <summary>dx = dy·sign(x), with sign(0) = 0 as in PyTorch (NaN where x is NaN).</summary>
    public static void AbsBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        Check("AbsBackward", dy.Length, x.Length, dx.Length);
        for (int i = 0; i < dy.Length; i++)
        {
            float v = x[i];
            dx[i] = v > 0f ? dy[i] : v < 0f ? -dy[i] : v == 0f ? 0f : float.NaN;
        }
    }

    /// <summary>y = x^p for a constant exponent; exponents 0, ±1, 2, 3, ±0.5 and −2 take exact shortcuts, as PyTorch's do.</summary>
    public static void PowForward(ReadOnlySpan<float> x, float p, Span<float> y)
    {
        Check("PowForward", x.Length, y.Length, y.Length);
        switch (p)
        {
            case 0f: y.Fill(1f); break;
            case 1f: x.CopyTo(y); break;
            case 2f: TensorPrimitives.Multiply(x, x, y); break;
            case 0.5f: TensorPrimitives.Sqrt(x, y); break;
            case -1f: TensorPrimitives.Divide(1f, x, y); break;
            case 3f: for (int i = 0; i < x.Length; i++) y[i] = x[i] * x[i] * x[i]; break;
            case -2f: for (int i = 0; i < x.Length; i++) y[i] = 1f / (x[i] * x[i]); break;
            case -0.5f: for (int i = 0; i < x.Length; i++) y[i] = 1f / MathF.Sqrt(x[i]); break;
            default: for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Pow(x[i], p); break;
        }
    }

    /// <summary>dx = dy·p·x^(p−1); zero for p = 0 (as PyTorch, even at x = 0).</summary>
    public static void PowBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float p, Span<float> dx)
    {
        Check("PowBackward", dy.Length, x.Length, dx.Length);
        switch (p)
        {
            case 0f: dx.Clear(); break;
            case 1f: dy.CopyTo(dx); break;
            case 2f: for (int i = 0; i < dy.Length; i++) dx[i] = dy[i] * 2f * x[i]; break;
            default: for (int i = 0; i < dy.Length; i++) dx[i] = (float)(dy[i] * (p * Math.Pow(x[i], p - 1.0))); break;
        }
    }

    /// <summary>y = min(max(x, min), max) (NaN stays NaN; when min &gt; max every element becomes max, as in PyTorch).</summary>
    public static void ClampForward(ReadOnlySpan<float> x, float min, float max, Span<float> y)
    {
        Check("ClampForward", x.Length, y.Length, y.Length);
        TensorPrimitives.Max(x, min, y);
        TensorPrimitives.Min(y, max, y);
    }

    /// <summary>dx = dy where min ≤ x ≤ max, else 0.</summary>
    public static void ClampBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float min, float max, Span<float> dx)
    {
        Check("ClampBackward", dy.Length, x.Length, dx.Length);
        for (int i = 0; i < dy.Length; i++) dx[i] = x[i] >= min && x[i] <= max ? dy[i] : 0f;
    }

    /// <summary>y = scale·x + shift (dst may be x). One rounding per operation, so results are the same on every CPU.</summary>
    public static void Affine(ReadOnlySpan<float> x, float scale, float shift, Span<float> y)
    {
        Check("Affine", x.Length, y.Length, y.Length);
        if (scale == 1f) TensorPrimitives.Add(x, shift, y);
        else if (shift == 0f) TensorPrimitives.Multiply(x, scale, y);
        else
        {
            TensorPrimitives.Multiply(x, scale, y);
            TensorPrimitives.Add(y, shift, y);
        }
    }

    /// <summary>
    /// Gradients of y = max(a, b) (or min when <paramref name="minimum"/>) with a, b and dy of one shape: the larger
    /// (smaller) operand takes dy, ties split it in half, and a NaN operand takes all of it, as in PyTorch.
    /// Either output may be empty to skip it.
    /// </summary>
    public static void ExtremumBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> da, Span<float> db, bool minimum)
    {
        Check("ExtremumBackward", dy.Length, a.Length, b.Length);
        CheckOptional("ExtremumBackward", dy.Length, da.Length, db.Length);
        for (int i = 0; i < dy.Length; i++)
        {
            float x = a[i], y = b[i], g = dy[i];
            bool aLoses = minimum ? x > y : x < y;
            bool bLoses = minimum ? x < y : x > y;
            if (!da.IsEmpty) da[i] = x == y ? g * 0.5f : aLoses ? 0f : g;
            if (!db.IsEmpty) db[i] = x == y ? g * 0.5f : bLoses ? 0f : g;
        }
    }

    /// <summary>
    /// Gradients of y = a^b with a, b, y and dy of one shape: da = dy·b·a^(b−1) (0 where b = 0) and
    /// db = dy·y·ln a (0 where a = 0 and b ≥ 0), as in PyTorch. Either output may be empty to skip it.
    /// </summary>
    public static void PowBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> y, Span<float> da, Span<float> db)
    {
        Check("PowBackward", dy.Length, a.Length, b.Length);
        Check("PowBackward", dy.Length, y.Length, y.Length);
        CheckOptional("PowBackward", dy.Length, da.Length, db.Length);
        for (int i = 0; i < dy.Length; i++)
        {
            double x = a[i], p = b[i];
            if (!da.IsEmpty) da[i] = p == 0 ? 0f : (float)(dy[i] * (p * Math.Pow(x, p - 1.0)));
            if (!db.IsEmpty) db[i] = x == 0 && p >= 0 ? 0f : (float)(dy[i] * (y[i] * Math.Log(x)));
        }
    }

    private static void CheckOptional(string op, int n, int da, int db)
    {
        if (da != 0 && da != n || db != 0 && db != n)
            throw new ShapeMismatchException($"{op}: gradient outputs of {da} and {db} elements for {n} (each must match or be empty).");
    }

    private static void Check(string op, int a, int b, int c)
    {
        if (a != b || a != c) throw new ShapeMismatchException($"{op}: operands have {a}, {b} and {c} elements; they must match.");
    }
}
