using NormSharp.Kernels;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels.Normalization;

/// <summary>The fused residual-add + normalization kernels give exactly the unfused add followed by the normalization.</summary>
[Trait("Category", "Kernels")]
public class ResidualNormKernelTests
{
    private static float[] Random(Rng rng, int n, float lo = -2f, float hi = 2f)
    {
        var a = new float[n];
        rng.FillUniform(a, lo, hi);
        return a;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryRowLengthUpTo256EqualsAddThenNormalize(bool centered)
    {
        var rng = new Rng(centered ? 1UL : 2UL);
        foreach (int rows in new[] { 1, 3, 37 })
            for (int cols = 0; cols <= 256; cols++)
                Check(rng, centered, rows, cols, accumulate: cols % 2 == 0);
    }

    [Theory]
    [InlineData(true, 2048, 128)]
    [InlineData(false, 2048, 128)]
    [InlineData(true, 513, 1000)]
    [InlineData(false, 5, 4096)]
    public void LargeInputsEqualAddThenNormalize(bool centered, int rows, int cols) =>
        Check(new Rng(3), centered, rows, cols, accumulate: true);

    [Fact]
    public void ALargeMeanIsNotCancelled()
    {
        // Rows around 1e4 with a spread of 1: the fused sum goes through the same cancellation-free statistics.
        Check(new Rng(4), centered: true, 64, 300, accumulate: false, offset: 1e4f);
    }

    private static void Check(Rng rng, bool centered, int rows, int cols, bool accumulate, float offset = 0f)
    {
        int n = rows * cols;
        var x = Random(rng, n);
        for (int i = 0; i < n; i++) x[i] += offset;
        var r = Random(rng, n);
        var w = Random(rng, cols, 0.5f, 1.5f);
        var b = Random(rng, cols);
        var dy = Random(rng, n);
        var prior = Random(rng, n);

        var sum = new float[n];
        var y = new float[n];
        var mean = new float[rows];
        var rstd = new float[rows];
        if (centered) ResidualNormKernels.LayerNormForward(x, r, w, b, sum, y, mean, rstd, rows, cols, 1e-5f);
        else ResidualNormKernels.RmsNormForward(x, r, w, sum, y, rstd, rows, cols, 1e-5f);

        var refSum = new float[n];
        ElementwiseKernels.Add(x, r, refSum);
        var refY = new float[n];
        var refMean = new float[rows];
        var refRstd = new float[rows];
        if (centered) LayerNormKernels.Forward(refSum, w, b, refY, refMean, refRstd, rows, cols, 1e-5f);
        else RmsNormKernels.Forward(refSum, w, refY, refRstd, rows, cols, 1e-5f);
        string at = $"{(centered ? "LayerNorm" : "RmsNorm")} {rows}×{cols}";
        Assert.True(refSum.AsSpan().SequenceEqual(sum), at + ": sum");
        Assert.True(refY.AsSpan().SequenceEqual(y), at + ": y");
        Assert.True(refRstd.AsSpan().SequenceEqual(rstd), at + ": rstd");
        if (centered) Assert.True(refMean.AsSpan().SequenceEqual(mean), at + ": mean");

        var dsum = (float[])prior.Clone();
        var dw = new float[cols];
        var db = new float[cols];
        if (centered) ResidualNormKernels.LayerNormBackward(dy, sum, w, mean, rstd, dsum, accumulate, dw, db, rows, cols);
        else ResidualNormKernels.RmsNormBackward(dy, sum, w, rstd, dsum, accumulate, dw, rows, cols);
        var refDx = new float[n];
        var refDw = new float[cols];
        var refDb = new float[cols];
        if (centered) LayerNormKernels.Backward(dy, refSum, w, refMean, refRstd, refDx, refDw, refDb, rows, cols);
        else RmsNormKernels.Backward(dy, refSum, w, refRstd, refDx, refDw, rows, cols);
        for (int i = 0; i < n; i++)
        {
            float expected = accumulate ? prior[i] + refDx[i] : refDx[i];
            Assert.True(expected == dsum[i], $"{at}: dsum[{i}] = {dsum[i]}, expected {expected}");
        }
        // The parameter gradients are summed in another grouping (per tile, then tiles in order): equal up to rounding.
        for (int c = 0; c < cols; c++)
        {
            Assert.True(Math.Abs(refDw[c] - dw[c]) <= 1e-4 * (1 + Math.Abs(refDw[c])) * Math.Sqrt(rows), $"{at}: dweight[{c}] = {dw[c]}, expected {refDw[c]}");
            if (centered) Assert.True(Math.Abs(refDb[c] - db[c]) <= 1e-4 * (1 + Math.Abs(refDb[c])) * Math.Sqrt(rows), $"{at}: dbias[{c}] = {db[c]}, expected {refDb[c]}");
        }
    }

    [Fact]
    public void ParameterGradientsDoNotDependOnTheNumberOfThreads()
    {
        var rng = new Rng(5);
        int rows = 1000, cols = 96, n = rows * cols;
        var x = Random(rng, n);
        var w = Random(rng, cols);
        var b = Random(rng, cols);
        var dy = Random(rng, n);
        var sum = new float[n];
        var y = new float[n];
        var mean = new float[rows];
        var rstd = new float[rows];
        ResidualNormKernels.LayerNormForward(x, x, w, b, sum, y, mean, rstd, rows, cols, 1e-5f);
        float[] Run()
        {
            var dw = new float[cols];
            var db = new float[cols];
            ResidualNormKernels.LayerNormBackward(dy, sum, w, mean, rstd, new float[n], false, dw, db, rows, cols);
            return [.. dw, .. db];
        }
        var two = Run();
        int saved = NormSharp.Threading.ParallelFor.MaxThreads;
        try
        {
            NormSharp.Threading.ParallelFor.MaxThreads = 1;
            Assert.Equal(two, Run());
        }
        finally { NormSharp.Threading.ParallelFor.MaxThreads = saved; }
    }

    [Fact]
    public void MismatchedBuffersAreRefusedByName()
    {
        var e = Assert.Throws<NormSharp.Errors.ShapeMismatchException>(() =>
            ResidualNormKernels.LayerNormForward(new float[6], new float[5], default, default, new float[6], new float[6], new float[2], new float[2], 2, 3, 1e-5f));
        Assert.Contains("residual (5)", e.Message);
        Assert.Throws<NormSharp.Errors.InvalidValueException>(() =>
            ResidualNormKernels.RmsNormForward(new float[6], new float[6], default, new float[6], new float[6], new float[2], 2, 3, 0f));
    }
}
