using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;
using NormSharp.Tests.Kernels.Normalization;
using static NormSharp.Tests.Kernels.Sweeps.EveryWidth;

namespace NormSharp.Tests.Kernels.Sweeps;

/// <summary>
/// Every normalization kernel over every row length 0..256 and a few large ones: the same bits at every vector
/// width (with and without weight and bias, forward and backward), and agreement with float64 references.
/// </summary>
[Trait("Category", "Kernels")]
public class NormalizationSweepTests
{
    private static float[] Normal(Rng rng, int count, float mean = 0, float std = 1)
    {
        var a = new float[count];
        rng.FillNormal(a, mean, std);
        return a;
    }

    /// <summary>Float64 LayerNorm (or RMSNorm) of rows, with the closed-form backward.</summary>
    private static (double[] Y, double[] Dx, double[] Dw, double[] Db) Reference(bool centered, float[] x, float[] w, float[] b, float[] dy, int rows, int cols, double eps)
    {
        var y = new double[x.Length];
        var dx = new double[x.Length];
        var dw = new double[cols];
        var db = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            double mean = 0, sq = 0;
            for (int j = 0; j < cols; j++) mean += x[o + j];
            mean = centered ? mean / cols : 0;
            for (int j = 0; j < cols; j++) sq += (x[o + j] - mean) * (x[o + j] - mean);
            double rstd = 1 / Math.Sqrt(sq / cols + eps);
            double mg = 0, mgx = 0;
            var xhat = new double[cols];
            for (int j = 0; j < cols; j++)
            {
                xhat[j] = (x[o + j] - mean) * rstd;
                y[o + j] = xhat[j] * w[j] + (centered ? b[j] : 0);
                double g = (double)dy[o + j] * w[j];
                mg += g;
                mgx += g * xhat[j];
                dw[j] += dy[o + j] * xhat[j];
                db[j] += dy[o + j];
            }
            mg = centered ? mg / cols : 0;
            mgx /= cols;
            for (int j = 0; j < cols; j++) dx[o + j] = rstd * ((double)dy[o + j] * w[j] - mg - xhat[j] * mgx);
        }
        return (y, dx, dw, db);
    }

    private static float[] LayerNorm(float[] x, float[] w, float[] b, float[] dy, int rows, int cols, bool weight, bool bias)
    {
        var y = new float[x.Length];
        var mean = new float[rows];
        var rstd = new float[rows];
        var dx = new float[x.Length];
        var dw = new float[weight ? cols : 0];
        var db = new float[bias ? cols : 0];
        LayerNormKernels.Forward(x, weight ? w : default, bias ? b : default, y, mean, rstd, rows, cols, 1e-5f);
        LayerNormKernels.Backward(dy, x, weight ? w : default, mean, rstd, dx, dw, db, rows, cols);
        return Join(y, mean, rstd, dx, dw, db);
    }

    private static float[] RmsNorm(float[] x, float[] w, float[] dy, int rows, int cols, bool weight)
    {
        var y = new float[x.Length];
        var rrms = new float[rows];
        var dx = new float[x.Length];
        var dw = new float[weight ? cols : 0];
        RmsNormKernels.Forward(x, weight ? w : default, y, rrms, rows, cols, 1e-5f);
        RmsNormKernels.Backward(dy, x, weight ? w : default, rrms, dx, dw, rows, cols);
        return Join(y, rrms, dx, dw);
    }

    [Fact]
    public void LayerNormGivesTheSameBitsAtEveryWidthAndMatchesFloat64AtEveryLength()
    {
        var rng = new Rng(11);
        foreach (int cols in Lengths())
        {
            const int rows = 3;
            var x = Normal(rng, rows * cols, 3f, 2f);
            var w = Normal(rng, cols, 1f, 0.3f);
            var b = Normal(rng, cols);
            var dy = Normal(rng, rows * cols);
            foreach (var (weight, bias) in new[] { (true, true), (true, false), (false, true), (false, false) })
                SameBits($"LayerNorm {rows}x{cols} weight={weight} bias={bias}", () => LayerNorm(x, w, b, dy, rows, cols, weight, bias));
            if (cols == 0) continue;
            float[] got = LayerNorm(x, w, b, dy, rows, cols, true, true);
            var (y, dx, dw, db) = Reference(true, x, w, b, dy, rows, cols, 1e-5);
            int n = rows * cols;
            Close($"y ({cols})", got.AsSpan(0, n), y, 2e-6, 2e-6);
            Close($"dx ({cols})", got.AsSpan(n + 2 * rows, n), dx, 1e-5, 1e-4);
            Close($"dw ({cols})", got.AsSpan(2 * n + 2 * rows, cols), dw, 1e-5, 1e-5);
            Close($"db ({cols})", got.AsSpan(2 * n + 2 * rows + cols, cols), db, 1e-5, 1e-5);
        }
    }

    [Fact]
    public void RmsNormGivesTheSameBitsAtEveryWidthAndMatchesFloat64AtEveryLength()
    {
        var rng = new Rng(12);
        foreach (int cols in Lengths())
        {
            const int rows = 3;
            var x = Normal(rng, rows * cols, 0.5f, 2f);
            var w = Normal(rng, cols, 1f, 0.3f);
            var dy = Normal(rng, rows * cols);
            SameBits($"RmsNorm {rows}x{cols}", () => RmsNorm(x, w, dy, rows, cols, true));
            SameBits($"RmsNorm {rows}x{cols} without weight", () => RmsNorm(x, w, dy, rows, cols, false));
            if (cols == 0) continue;
            float[] got = RmsNorm(x, w, dy, rows, cols, true);
            var (y, dx, dw, _) = Reference(false, x, w, new float[cols], dy, rows, cols, 1e-5);
            int n = rows * cols;
            Close($"y ({cols})", got.AsSpan(0, n), y, 2e-6, 2e-6);
            Close($"dx ({cols})", got.AsSpan(n + rows, n), dx, 1e-5, 1e-4);
            Close($"dw ({cols})", got.AsSpan(2 * n + rows, cols), dw, 1e-5, 1e-5);
        }
    }

    [Theory]
    [InlineData(64, 37)]
    [InlineData(100, 200)]
    [InlineData(1024, 9)]
    [InlineData(3000, 5)]
    public void ManyRowsCrossBackwardTilesAndParallelChunksWithTheSameBits(int cols, int rows)
    {
        var rng = new Rng((ulong)(cols + rows));
        var x = Normal(rng, rows * cols, -1f, 0.5f);
        var w = Normal(rng, cols, 1f, 0.3f);
        var b = Normal(rng, cols);
        var dy = Normal(rng, rows * cols);
        float[] got = SameBits($"LayerNorm {rows}x{cols}", () => LayerNorm(x, w, b, dy, rows, cols, true, true));
        var (_, dx, dw, db) = Reference(true, x, w, b, dy, rows, cols, 1e-5);
        int n = rows * cols;
        Close("dx", got.AsSpan(n + 2 * rows, n), dx, 1e-5, 1e-4);
        Close("dw", got.AsSpan(2 * n + 2 * rows, cols), dw, 1e-4, 1e-5);
        Close("db", got.AsSpan(2 * n + 2 * rows + cols, cols), db, 1e-4, 1e-5);
    }

    [Fact]
    public void GroupNormGivesTheSameBitsAtEveryWidthAndMatchesFloat64AtEverySpatialSize()
    {
        var rng = new Rng(13);
        foreach (int s in Lengths(includeZero: false).Where(v => v <= 256 || v == 1000))
        {
            const int n = 2, c = 6, g = 3;
            var x = Normal(rng, n * c * s, 2f, 1.5f);
            var w = Normal(rng, c, 1f, 0.3f);
            var b = Normal(rng, c);
            var dy = Normal(rng, n * c * s);
            float[] Run(bool affine)
            {
                var y = new float[x.Length];
                var mean = new float[n * g];
                var rstd = new float[n * g];
                var dx = new float[x.Length];
                var dw = new float[c];
                var db = new float[c];
                GroupNormKernels.Forward(x, affine ? w : default, affine ? b : default, y, mean, rstd, n, c, s, g, 1e-5f);
                GroupNormKernels.Backward(dy, x, affine ? w : default, mean, rstd, dx, dw, db, n, c, s, g);
                return Join(y, dx, dw, db);
            }
            SameBits($"GroupNorm s={s} without affine", () => Run(false));
            float[] got = SameBits($"GroupNorm s={s}", () => Run(true));
            var xd = ChannelNormTestHelpers.ToDouble(x);
            var (yRef, _, _) = GroupNormKernelTests.Reference.Forward(xd, ChannelNormTestHelpers.ToDouble(w), ChannelNormTestHelpers.ToDouble(b), n, c, s, g, 1e-5);
            var (dxRef, dwRef, dbRef) = GroupNormKernelTests.Reference.Backward(ChannelNormTestHelpers.ToDouble(dy), xd, ChannelNormTestHelpers.ToDouble(w), n, c, s, g, 1e-5);
            int total = x.Length;
            Close($"y (s={s})", got.AsSpan(0, total), yRef, 2e-6, 2e-6);
            Close($"dx (s={s})", got.AsSpan(total, total), dxRef, 1e-5, 1e-4);
            Close($"dw (s={s})", got.AsSpan(2 * total, c), dwRef, 1e-4, 1e-5);
            Close($"db (s={s})", got.AsSpan(2 * total + c, c), dbRef, 1e-4, 1e-5);
        }
    }

    [Fact]
    public void BatchNormGivesTheSameBitsAtEveryWidthAndMatchesFloat64ForEveryChannelCountAndLength()
    {
        var rng = new Rng(14);
        // [N, C]: channels are vector lanes, so sweep C; [N, C, L]: channels are runs, so sweep L.
        var cases = Lengths(includeZero: false).Where(v => v <= 256 || v == 1000).Select(c => (N: 5, C: c, L: 1))
            .Concat(Enumerable.Range(2, 70).Select(l => (N: 3, C: 2, L: l)));
        foreach (var (n, c, l) in cases)
        {
            var x = Normal(rng, n * c * l, -4f, 0.7f);
            var w = Normal(rng, c, 1f, 0.3f);
            var b = Normal(rng, c);
            var dy = Normal(rng, n * c * l);
            var rm = Normal(rng, c, -4f, 0.1f);
            var rv = Normal(rng, c, 1f, 0.1f).Select(Math.Abs).ToArray();
            float[] Run(bool affine)
            {
                var y = new float[x.Length];
                var mean = new float[c];
                var inv = new float[c];
                var runMean = (float[])rm.Clone();
                var runVar = (float[])rv.Clone();
                var dx = new float[x.Length];
                var dw = new float[c];
                var db = new float[c];
                var yi = new float[x.Length];
                var dxi = new float[x.Length];
                var dwi = new float[c];
                var dbi = new float[c];
                ReadOnlySpan<float> pw = affine ? w : default, pb = affine ? b : default;
                BatchNormKernels.ForwardTraining(x, pw, pb, y, mean, inv, runMean, runVar, n, c, l, 1e-5f, 0.1f);
                BatchNormKernels.BackwardTraining(dy, x, pw, mean, inv, dx, dw, db, n, c, l);
                BatchNormKernels.ForwardInference(x, pw, pb, rm, rv, yi, n, c, l, 1e-5f);
                BatchNormKernels.BackwardInference(dy, x, pw, rm, rv, dxi, dwi, dbi, n, c, l, 1e-5f);
                return Join(y, mean, inv, runMean, runVar, dx, dw, db, yi, dxi, dwi, dbi);
            }
            SameBits($"BatchNorm [{n}, {c}, {l}] without affine", () => Run(false));
            float[] got = SameBits($"BatchNorm [{n}, {c}, {l}]", () => Run(true));
            var xd = ChannelNormTestHelpers.ToDouble(x);
            var wd = ChannelNormTestHelpers.ToDouble(w);
            var (yRef, _, _, _) = BatchNormKernelTests.Reference.ForwardTraining(xd, wd, ChannelNormTestHelpers.ToDouble(b), n, c, l, 1e-5);
            var (dxRef, dwRef, dbRef) = BatchNormKernelTests.Reference.BackwardTraining(ChannelNormTestHelpers.ToDouble(dy), xd, wd, n, c, l, 1e-5);
            int total = x.Length, o = total + 4 * c;
            Close($"y [{n}, {c}, {l}]", got.AsSpan(0, total), yRef, 5e-6, 5e-6);
            Close($"dx [{n}, {c}, {l}]", got.AsSpan(o, total), dxRef, 2e-5, 1e-4);
            Close($"dw [{n}, {c}, {l}]", got.AsSpan(o + total, c), dwRef, 1e-4, 1e-5);
            Close($"db [{n}, {c}, {l}]", got.AsSpan(o + total + c, c), dbRef, 1e-4, 1e-5);
        }
    }
}
