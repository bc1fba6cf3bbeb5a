using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Tests.Ops;

/// <summary>Inputs, gradient checks and plain reference implementations shared by the operation tests.</summary>
internal static class OpTesting
{
    /// <summary>A trainable leaf of <paramref name="shape"/> with values uniform in [lo, hi).</summary>
    public static Variable Param(Rng rng, int[] shape, float lo = -1f, float hi = 1f)
    {
        var t = Tensor.Zeros(shape);
        rng.FillUniform(t.Span, lo, hi);
        return Variable.Parameter(t);
    }

    /// <summary>A trainable leaf whose values are distinct and at least 0.05 apart (for max/argmax and kinks).</summary>
    public static Variable Distinct(Rng rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        var s = t.Span;
        var order = Enumerable.Range(0, s.Length).ToArray();
        rng.Shuffle(order.AsSpan());
        for (int i = 0; i < s.Length; i++) s[i] = (order[i] - s.Length / 2f) * 0.05f;
        return Variable.Parameter(t);
    }

    /// <summary>Asserts that the backward of <paramref name="forward"/> agrees with finite differences (random upstream gradient).</summary>
    public static void AssertGradients(Func<Variable> forward, params Variable[] inputs)
    {
        var worst = GradCheck.Run(forward, inputs);
        Assert.True(worst.Error <= 1.0, $"input {worst.Input} element {worst.Element}: analytic {worst.Analytic}, numeric {worst.Numeric} (error {worst.Error:F2})");
    }

    /// <summary>Asserts element-by-element closeness to a double reference.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tol = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e)) { Assert.True(double.IsNaN(a), $"element {i}: expected NaN, got {a}"); continue; }
            if (double.IsInfinity(e)) { Assert.Equal(e, a); continue; }
            Assert.True(Math.Abs(e - a) <= tol * Math.Max(1.0, Math.Abs(e)), $"element {i}: expected {e}, got {a}");
        }
    }

    public static long Count(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    /// <summary>The multi-index of flat position <paramref name="flat"/> in <paramref name="shape"/>.</summary>
    public static int[] Unravel(long flat, ReadOnlySpan<int> shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = (int)(flat % shape[d]);
            flat /= shape[d];
        }
        return idx;
    }

    /// <summary>The flat position in <paramref name="shape"/> of an output index, with dimensions of size 1 pinned to 0 (broadcast reading).</summary>
    public static int BroadcastOffset(int[] outIndex, ReadOnlySpan<int> shape)
    {
        int lead = outIndex.Length - shape.Length;
        int off = 0;
        for (int d = 0; d < shape.Length; d++) off = off * shape[d] + (shape[d] == 1 ? 0 : outIndex[lead + d]);
        return off;
    }

    /// <summary>The broadcast shape, computed the plain way.</summary>
    public static int[] BroadcastShape(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new int[r];
        for (int i = 1; i <= r; i++)
        {
            int da = i <= a.Length ? a[^i] : 1, db = i <= b.Length ? b[^i] : 1;
            s[r - i] = da == 1 ? db : da;
        }
        return s;
    }

    /// <summary>op applied elementwise under broadcasting, in double, the slow and obvious way.</summary>
    public static double[] NaiveBroadcast(Tensor a, Tensor b, Func<double, double, double> op)
    {
        var shape = BroadcastShape(a.Shape.ToArray(), b.Shape.ToArray());
        var y = new double[Count(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Unravel(i, shape);
            y[i] = op(a[BroadcastOffset(idx, a.Shape)], b[BroadcastOffset(idx, b.Shape)]);
        }
        return y;
    }
}
