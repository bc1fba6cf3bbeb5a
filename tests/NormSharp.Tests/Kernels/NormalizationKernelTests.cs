using NormSharp.Errors;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;
using NormSharp.Threading;

namespace NormSharp.Tests.Kernels;

/// <summary>The row-wise normalization kernels against float64 references, whose own backward is checked by finite differences.</summary>
[Trait("Category", "Kernels")]
public class NormalizationKernelTests
{
    /// <summary>Float64 layer norm of one row: y, mean, rstd.</summary>
    private static (double[] Y, double Mean, double Rstd) ReferenceLayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, double eps)
    {
        int n = x.Length;
        double mean = 0;
        foreach (float v in x) mean += v;
        mean /= n;
        double var = 0;
        foreach (float v in x) var += (v - mean) * (v - mean);
        var /= n;
        double rstd = 1 / Math.Sqrt(var + eps);
        var y = new double[n];
        for (int i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * (w.IsEmpty ? 1 : w[i]) + (b.IsEmpty ? 0 : b[i]);
        return (y, mean, rstd);
    }

    /// <summary>Float64 gradient of Σ y·dy with respect to x for one row (the closed form).</summary>
    private static double[] ReferenceLayerNormDx(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dy, double eps)
    {
        int n = x.Length;
        var (_, mean, rstd) = ReferenceLayerNorm(x, default, default, eps);
        var g = new double[n];
        var xhat = new double[n];
        double mg = 0, mgx = 0;
        for (int i = 0; i < n; i++)
        {
            g[i] = dy[i] * (w.IsEmpty ? 1 : w[i]);
            xhat[i] = (x[i] - mean) * rstd;
            mg += g[i];
            mgx += g[i] * xhat[i];
        }
        mg /= n;
        mgx /= n;
        var dx = new double[n];
        for (int i = 0; i < n; i++) dx[i] = rstd * (g[i] - mg - xhat[i] * mgx);
        return dx;
    }

    [Fact]
    public void TheReferenceBackwardMatchesFiniteDifferences()
    {
        var rng = new Rng(1);
        var x = new float[9];
        var w = new float[9];
        var dy = new float[9];
        rng.FillUniform(x, -2, 2);
        rng.FillUniform(w, 0.5f, 1.5f);
        rng.FillUniform(dy, -1, 1);
        var dx = ReferenceLayerNormDx(x, w, dy, 1e-5);
        for (int i = 0; i < x.Length; i++)
        {
            // Central differences in float64 on a float64 copy of the input.
            double h = 1e-6;
            double Probe(double xi)
            {
                var xd = x.Select(v => (double)v).ToArray();
                xd[i] = xi;
                double mean = xd.Average();
                double var = xd.Select(v => (v - mean) * (v - mean)).Average();
                double rstd = 1 / Math.Sqrt(var + 1e-5);
                double s = 0;
                for (int j = 0; j < xd.Length; j++) s += (xd[j] - mean) * rstd * w[j] * dy[j];
                return s;
            }
            double numeric = (Probe(x[i] + h) - Probe(x[i] - h)) / (2 * h);
            Assert.Equal(numeric, dx[i], 6);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(5, 7)]
    [InlineData(2, 17)]
    [InlineData(4, 1007)]
    [InlineData(300, 64)]
    [InlineData(64, 1024)]
    public void LayerNormMatchesTheReference(int rows, int cols)
    {
        var rng = new Rng((ulong)(rows * 1000 + cols));
        var x = new float[rows * cols];
        var dy = new float[rows * cols];
        var w = new float[cols];
        var b = new float[cols];
        rng.FillUniform(x, -3, 3);
        rng.FillUniform(dy, -1, 1);
        rng.FillUniform(w, 0.5f, 1.5f);
        rng.FillUniform(b, -1, 1);
        var y = new float[x.Length];
        var mean = new float[rows];
        var rstd = new float[rows];
        var dx = new float[x.Length];
        var dw = new float[cols];
        var db = new float[cols];
        LayerNormKernels.Forward(x, w, b, y, mean, rstd, rows, cols, 1e-5f);
        LayerNormKernels.Backward(dy, x, w, mean, rstd, dx, dw, db, rows, cols);
        var dwRef = new double[cols];
        var dbRef = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.AsSpan(r * cols, cols);
            var (yRef, mRef, sRef) = ReferenceLayerNorm(xr, w, b, 1e-5);
            var dxRef = ReferenceLayerNormDx(xr, w, dy.AsSpan(r * cols, cols), 1e-5);
            Assert.Equal(mRef, mean[r], 1e-5 * Math.Max(1, Math.Abs(mRef)));
            Assert.Equal(sRef, rstd[r], 1e-5 * sRef);
            for (int c = 0; c < cols; c++)
            {
                Assert.Equal(yRef[c], y[r * cols + c], 2e-5 * Math.Max(1, Math.Abs(yRef[c])));
                Assert.Equal(dxRef[c], dx[r * cols + c], 5e-5 * Math.Max(1, Math.Abs(dxRef[c])));
                double xhat = (x[r * cols + c] - mRef) * sRef;
                dwRef[c] += dy[r * cols + c] * xhat;
                dbRef[c] += dy[r * cols + c];
            }
        }
        for (int c = 0; c < cols; c++)
        {
            Assert.Equal(dwRef[c], dw[c], 1e-4 * Math.Max(1, Math.Abs(dwRef[c])) * Math.Sqrt(rows));
            Assert.Equal(dbRef[c], db[c], 1e-4 * Math.Max(1, Math.Abs(dbRef[c])) * Math.Sqrt(rows));
        }
    }

    [Theory]
    [InlineData(1e3)]
    [InlineData(1e4)]
    [InlineData(3e4)]
    [InlineData(1e5)]
    public void LayerNormStaysAccurateAtALargeMean(double offset)
    {
        // std ≈ 1 around a large mean: E[x²] − E[x]² would lose every digit in float32.
        const int Rows = 16, Cols = 512;
        var rng = new Rng(42);
        var x = new float[Rows * Cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(offset + rng.NextGaussian());
        var dy = new float[x.Length];
        rng.FillUniform(dy, -1, 1);
        var y = new float[x.Length];
        var dx = new float[x.Length];
        var mean = new float[Rows];
        var rstd = new float[Rows];
        LayerNormKernels.Forward(x, default, default, y, mean, rstd, Rows, Cols, 1e-5f);
        LayerNormKernels.Backward(dy, x, default, mean, rstd, dx, default, default, Rows, Cols);
        double worstY = 0, worstDx = 0, worstRstd = 0;
        for (int r = 0; r < Rows; r++)
        {
            var xr = x.AsSpan(r * Cols, Cols);
            var (yRef, _, sRef) = ReferenceLayerNorm(xr, default, default, 1e-5);
            var dxRef = ReferenceLayerNormDx(xr, default, dy.AsSpan(r * Cols, Cols), 1e-5);
            worstRstd = Math.Max(worstRstd, Math.Abs(rstd[r] - sRef) / sRef);
            for (int c = 0; c < Cols; c++)
            {
                worstY = Math.Max(worstY, Math.Abs(y[r * Cols + c] - yRef[c]));
                worstDx = Math.Max(worstDx, Math.Abs(dx[r * Cols + c] - dxRef[c]));
            }
        }
        // The bound is float32 resolution of the normalized values, independent of the offset.
        Assert.True(worstRstd < 1e-6, $"rstd relative error {worstRstd:E2} at mean {offset}");
        Assert.True(worstY < 2e-6, $"y error {worstY:E2} at mean {offset}");
        Assert.True(worstDx < 2e-5, $"dx error {worstDx:E2} at mean {offset}");
    }

    [Fact]
    public void RmsNormMatchesTheReference()
    {
        foreach (var (rows, cols) in new[] { (1, 1), (3, 7), (2, 1007), (200, 64) })
        {
            var rng = new Rng((ulong)cols);
            var x = new float[rows * cols];
            var dy = new float[rows * cols];
            var w = new float[cols];
            rng.FillUniform(x, -3, 3);
            rng.FillUniform(dy, -1, 1);
            rng.FillUniform(w, 0.5f, 1.5f);
            var y = new float[x.Length];
            var rr = new float[rows];
            var dx = new float[x.Length];
            var dw = new float[cols];
            RmsNormKernels.Forward(x, w, y, rr, rows, cols, 1e-6f);
            RmsNormKernels.Backward(dy, x, w, rr, dx, dw, rows, cols);
            var dwRef = new double[cols];
            for (int r = 0; r < rows; r++)
            {
                double ms = 0;
                for (int c = 0; c < cols; c++) ms += (double)x[r * cols + c] * x[r * cols + c];
                double s = 1 / Math.Sqrt(ms / cols + 1e-6);
                Assert.Equal(s, rr[r], 1e-5 * s);
                double sgx = 0;
                for (int c = 0; c < cols; c++) sgx += (double)dy[r * cols + c] * w[c] * x[r * cols + c];
                for (int c = 0; c < cols; c++)
                {
                    int i = r * cols + c;
                    Assert.Equal(x[i] * s * w[c], y[i], 2e-5 * Math.Max(1, Math.Abs(y[i])));
                    double dxRef = s * (dy[i] * w[c] - x[i] * s * s * sgx / cols);
                    Assert.Equal(dxRef, dx[i], 5e-5 * Math.Max(1, Math.Abs(dxRef)));
                    dwRef[c] += dy[i] * x[i] * s;
                }
            }
            for (int c = 0; c < cols; c++) Assert.Equal(dwRef[c], dw[c], 1e-4 * Math.Max(1, Math.Abs(dwRef[c])) * Math.Sqrt(rows));
        }
    }

    [Fact]
    public void ResultsAreBitIdenticalAcrossRunsAndThreadCounts()
    {
        const int Rows = 512, Cols = 300;
        var rng = new Rng(5);
        var x = new float[Rows * Cols];
        var dy = new float[x.Length];
        var w = new float[Cols];
        rng.FillUniform(x, -1, 1);
        rng.FillUniform(dy, -1, 1);
        rng.FillUniform(w, 0, 2);
        float[] Run()
        {
            var y = new float[x.Length];
            var m = new float[Rows];
            var s = new float[Rows];
            var dx = new float[x.Length];
            var dw = new float[Cols];
            var db = new float[Cols];
            LayerNormKernels.Forward(x, w, w, y, m, s, Rows, Cols, 1e-5f);
            LayerNormKernels.Backward(dy, x, w, m, s, dx, dw, db, Rows, Cols);
            return [.. y, .. dx, .. dw, .. db];
        }
        var first = Run();
        Assert.Equal(first, Run());
        // The per-row results never depend on the split; only dweight/dbias sum partials, in chunk order.
        int saved = ParallelFor.MaxThreads;
        try
        {
            ParallelFor.MaxThreads = 1;
            var single = Run();
            Assert.Equal(first.AsSpan(0, 2 * x.Length).ToArray(), single.AsSpan(0, 2 * x.Length).ToArray());
        }
        finally { ParallelFor.MaxThreads = saved; }
    }

    [Fact]
    public void BadArgumentsNameTheProblem()
    {
        var x = new float[12];
        var y = new float[12];
        var m = new float[3];
        var s = new float[3];
        var e = Assert.Throws<ShapeMismatchException>(() => LayerNormKernels.Forward(x, new float[7], default, y, m, s, 3, 4, 1e-5f));
        Assert.Contains("weight has 7", e.Message);
        Assert.Throws<InvalidValueException>(() => LayerNormKernels.Forward(x, default, default, y, m, s, 3, 4, -1e-5f));
        Assert.Throws<InvalidValueException>(() => LayerNormKernels.Forward(x, default, default, y, m, s, 3, 4, float.NaN));
        var e2 = Assert.Throws<ShapeMismatchException>(() => LayerNormKernels.Forward(x, default, default, y, m, s, 4, 4, 1e-5f));
        Assert.Contains("x has 12", e2.Message);
        Assert.Throws<ShapeMismatchException>(() => RmsNormKernels.Backward(x, x, default, m, y, new float[5], 3, 4));
        Assert.Throws<InvalidValueException>(() => GroupNormKernels.Forward(x, default, default, y, new float[2], new float[2], 1, 3, 4, 2, 1e-5f));
        Assert.Throws<InvalidValueException>(() => BatchNormKernels.ForwardTraining(new float[3], default, default, new float[3], new float[3], new float[3], default, default, 1, 3, 1, 1e-5f, 0.1f));
    }
}
