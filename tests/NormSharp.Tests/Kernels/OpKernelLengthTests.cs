using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels;

/// <summary>The operation kernels on every run length from 0 to 256, where vector bodies meet their tails.</summary>
public class OpKernelLengthTests
{
    private static float[] Random(Rng rng, int n, float lo = -2f, float hi = 2f)
    {
        var a = new float[n];
        rng.FillUniform(a, lo, hi);
        return a;
    }

    [Fact]
    public void BroadcastRunsOfEveryLength()
    {
        var rng = new Rng(1);
        for (int n = 0; n <= 256; n++)
        {
            var a = Random(rng, 3 * n);
            var row = Random(rng, n, 0.5f, 2f);
            var col = Random(rng, 3, 0.5f, 2f);
            var y = new float[3 * n];
            BroadcastKernels.Div(a, [3, n], row, [n], y, [3, n]);
            for (int i = 0; i < 3 * n; i++) Assert.Equal(a[i] / row[i % n], y[i]);
            BroadcastKernels.Sub(col, [3, 1], a, [3, n], y, [3, n]);
            for (int i = 0; i < 3 * n; i++) Assert.Equal(col[i / n] - a[i], y[i]);
            BroadcastKernels.Maximum(a, [3, n], col, [3, 1], y, [3, n]);
            for (int i = 0; i < 3 * n; i++) Assert.Equal(MathF.Max(a[i], col[i / n]), y[i]);
            var sums = new float[3];
            BroadcastKernels.SumTo(a, [3, n], sums, [3, 1]);
            for (int r = 0; r < 3; r++) Assert.Equal((float)a.Skip(r * n).Take(n).Sum(v => (double)v), sums[r]);
            var colSums = new float[n];
            BroadcastKernels.SumTo(a, [3, n], colSums, [n]);
            for (int c = 0; c < n; c++) Assert.Equal((float)((double)a[c] + a[n + c] + a[2 * n + c]), colSums[c]);
            var spread = new float[3 * n];
            BroadcastKernels.BroadcastTo(row, [1, n], spread, [3, n]);
            for (int i = 0; i < 3 * n; i++) Assert.Equal(row[i % n], spread[i]);
            var cond = Random(rng, n, -1f, 1f).Select(v => v > 0 ? 1f : 0f).ToArray();
            BroadcastKernels.Where(cond, [n], a, [3, n], col, [3, 1], y, [3, n]);
            for (int i = 0; i < 3 * n; i++) Assert.Equal(cond[i % n] != 0 ? a[i] : col[i / n], y[i]);
        }
    }

    [Fact]
    public void MathKernelsOnEveryLength()
    {
        var rng = new Rng(2);
        for (int n = 0; n <= 256; n++)
        {
            var x = Random(rng, n, 0.1f, 3f);
            var dy = Random(rng, n);
            var y = new float[n];
            var dx = new float[n];
            MathKernels.SqrtForward(x, y);
            MathKernels.SqrtBackward(dy, y, dx);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(MathF.Sqrt(x[i]), y[i]);
                Assert.Equal(dy[i] / (2f * y[i]), dx[i]);
            }
            MathKernels.ClampForward(x, 0.5f, 2f, y);
            MathKernels.AbsForward(dy, dx);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(Math.Clamp(x[i], 0.5f, 2f), y[i]);
                Assert.Equal(MathF.Abs(dy[i]), dx[i]);
            }
            MathKernels.Affine(x, -3f, 0.25f, y);
            for (int i = 0; i < n; i++) Assert.Equal(x[i] * -3f + 0.25f, y[i]);
        }
    }

    [Fact]
    public void AxisSoftmaxOnEveryInnerLength()
    {
        var rng = new Rng(3);
        for (int inner = 1; inner <= 70; inner++)
        {
            int outer = 2, n = 3;
            var x = Random(rng, outer * n * inner, -4f, 4f);
            var y = new float[x.Length];
            var scratch = new float[2 * inner];
            AxisSoftmaxKernels.Forward(x, y, outer, n, inner, scratch, log: false);
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < inner; j++)
                {
                    double max = Enumerable.Range(0, n).Max(r => x[(o * n + r) * inner + j]);
                    double sum = Enumerable.Range(0, n).Sum(r => Math.Exp(x[(o * n + r) * inner + j] - max));
                    for (int r = 0; r < n; r++)
                    {
                        int at = (o * n + r) * inner + j;
                        Assert.Equal(Math.Exp(x[at] - max) / sum, y[at], 1e-6);
                    }
                }
        }
    }

    [Fact]
    public void BlockCopiesOnEveryWidth()
    {
        var rng = new Rng(4);
        for (int w = 0; w <= 64; w++)
        {
            var src = Random(rng, 3 * (w + 2));
            var dst = new float[3 * (w + 5)];
            ShapeKernels.CopyBlocks(src, w + 2, dst, w + 5, 3, w);
            ShapeKernels.AddBlocks(src, w + 2, dst, w + 5, 3, w);
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < w + 5; c++)
                    Assert.Equal(c < w ? 2 * src[r * (w + 2) + c] : 0f, dst[r * (w + 5) + c]);
        }
        Assert.Throws<NormSharp.Errors.ShapeMismatchException>(() => ShapeKernels.CopyBlocks(new float[4], 2, new float[4], 2, 3, 2));
    }
}
