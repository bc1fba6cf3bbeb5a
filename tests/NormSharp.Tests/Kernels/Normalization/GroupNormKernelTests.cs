using NormSharp.Errors;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;
using static NormSharp.Tests.Kernels.Normalization.ChannelNormTestHelpers;

namespace NormSharp.Tests.Kernels.Normalization;

[Trait("Category", "Kernels")]
public class GroupNormKernelTests
{
    /// <summary>Float64 group norm over [N, C, S], written for clarity rather than speed.</summary>
    internal static class Reference
    {
        public static (double[] Y, double[] Mean, double[] Rstd) Forward(double[] x, double[]? w, double[]? b, int n, int c, int s, int g, double eps)
        {
            int cpg = c / g;
            int m = cpg * s;
            var y = new double[x.Length];
            var mean = new double[n * g];
            var rstd = new double[n * g];
            for (int i = 0; i < n; i++)
                for (int gi = 0; gi < g; gi++)
                {
                    int o = (i * c + gi * cpg) * s;
                    double mu = 0;
                    for (int k = 0; k < m; k++) mu += x[o + k];
                    mu /= m;
                    double v = 0;
                    for (int k = 0; k < m; k++) v += (x[o + k] - mu) * (x[o + k] - mu);
                    double r = 1 / Math.Sqrt(v / m + eps);
                    for (int k = 0; k < m; k++)
                    {
                        int ch = gi * cpg + k / s;
                        y[o + k] = (x[o + k] - mu) * r * (w?[ch] ?? 1) + (b?[ch] ?? 0);
                    }
                    mean[i * g + gi] = mu;
                    rstd[i * g + gi] = r;
                }
            return (y, mean, rstd);
        }

        public static (double[] Dx, double[] DW, double[] DB) Backward(double[] dy, double[] x, double[]? w, int n, int c, int s, int g, double eps)
        {
            var (_, mean, rstd) = Forward(x, w, null, n, c, s, g, eps);
            int cpg = c / g;
            int m = cpg * s;
            var dx = new double[x.Length];
            var dw = new double[c];
            var db = new double[c];
            for (int i = 0; i < n; i++)
                for (int gi = 0; gi < g; gi++)
                {
                    int o = (i * c + gi * cpg) * s;
                    double mu = mean[i * g + gi], r = rstd[i * g + gi];
                    double sg = 0, sgx = 0;
                    for (int k = 0; k < m; k++)
                    {
                        int ch = gi * cpg + k / s;
                        double xhat = (x[o + k] - mu) * r;
                        double gk = dy[o + k] * (w?[ch] ?? 1);
                        sg += gk;
                        sgx += gk * xhat;
                        dw[ch] += dy[o + k] * xhat;
                        db[ch] += dy[o + k];
                    }
                    for (int k = 0; k < m; k++)
                    {
                        int ch = gi * cpg + k / s;
                        double xhat = (x[o + k] - mu) * r;
                        dx[o + k] = r * (dy[o + k] * (w?[ch] ?? 1) - sg / m - xhat * sgx / m);
                    }
                }
            return (dx, dw, db);
        }
    }

    public static TheoryData<int, int, int, int> Sizes => new()
    {
        { 1, 1, 1, 1 }, { 2, 6, 16, 3 }, { 3, 4, 17, 2 }, { 2, 6, 1, 3 }, { 3, 9, 5, 9 },
        { 1, 1007, 3, 1 },      // more channels per group than fit the stack scratch
        { 2, 64, 1007, 32 },    // several parallel chunks forward and backward
        { 4, 32, 1024, 1 },     // one group: parallel forward, single-chunk backward
    };

    private static (float[] X, float[] W, float[] B, float[] Dy) MakeCase(int n, int c, int s, int seed, float mean = -0.3f, float std = 1.5f)
    {
        var rng = new Rng((ulong)seed);
        return (Normal(rng, n * c * s, mean, std), Normal(rng, c, 1, 0.5f), Normal(rng, c), Normal(rng, n * c * s));
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void ForwardAndBackwardMatchTheFloat64Reference(int n, int c, int s, int g)
    {
        var (x, w, b, dy) = MakeCase(n, c, s, n + 10 * c + 100 * s + g);
        const float eps = 1e-5f;
        var y = new float[x.Length];
        var mean = new float[n * g];
        var rstd = new float[n * g];
        GroupNormKernels.Forward(x, w, b, y, mean, rstd, n, c, s, g, eps);
        var xd = ToDouble(x);
        var (ey, emean, erstd) = Reference.Forward(xd, ToDouble(w), ToDouble(b), n, c, s, g, eps);
        Close("y", y, ey, 1e-5, 1e-5);
        Close("mean", mean, emean, 1e-6, 1e-6);
        Close("rstd", rstd, erstd, 0, 1e-6);

        var dx = new float[x.Length];
        var dw = new float[c];
        var db = new float[c];
        GroupNormKernels.Backward(dy, x, w, mean, rstd, dx, dw, db, n, c, s, g);
        var (edx, edw, edb) = Reference.Backward(ToDouble(dy), xd, ToDouble(w), n, c, s, g, eps);
        Close("dx", dx, edx, 1e-5, 1e-4);
        Close("dweight", dw, edw, 1e-4, 1e-5);
        Close("dbias", db, edb, 1e-4, 1e-5);
    }

    [Theory]
    [InlineData(2, 6, 5, 2)]
    [InlineData(3, 4, 1, 4)]
    public void WithoutAffine(int n, int c, int s, int g)
    {
        var (x, _, _, dy) = MakeCase(n, c, s, 3);
        var y = new float[x.Length];
        var mean = new float[n * g];
        var rstd = new float[n * g];
        GroupNormKernels.Forward(x, [], [], y, mean, rstd, n, c, s, g, 1e-3f);
        var xd = ToDouble(x);
        Close("y", y, Reference.Forward(xd, null, null, n, c, s, g, 1e-3).Y, 1e-5, 1e-5);
        var dx = new float[x.Length];
        var dw = new float[c];
        GroupNormKernels.Backward(dy, x, [], mean, rstd, dx, dw, [], n, c, s, g);
        var (edx, edw, _) = Reference.Backward(ToDouble(dy), xd, null, n, c, s, g, 1e-3);
        Close("dx", dx, edx, 1e-5, 1e-4);
        Close("dweight", dw, edw, 1e-4, 1e-5);
    }

    [Fact]
    public void StatisticsStayAccurateAtALargeMean()
    {
        const int n = 2, c = 6, s = 40, g = 3;
        var (x, w, b, dy) = MakeCase(n, c, s, 4, mean: 10_000f, std: 1f);
        var y = new float[x.Length];
        var mean = new float[n * g];
        var rstd = new float[n * g];
        GroupNormKernels.Forward(x, w, b, y, mean, rstd, n, c, s, g, 1e-5f);
        var xd = ToDouble(x);
        var (ey, _, erstd) = Reference.Forward(xd, ToDouble(w), ToDouble(b), n, c, s, g, 1e-5);
        Close("rstd", rstd, erstd, 0, 1e-6);
        Close("y", y, ey, 2e-5, 2e-5);
        var dx = new float[x.Length];
        var dw = new float[c];
        var db = new float[c];
        GroupNormKernels.Backward(dy, x, w, mean, rstd, dx, dw, db, n, c, s, g);
        var (edx, edw, _) = Reference.Backward(ToDouble(dy), xd, ToDouble(w), n, c, s, g, 1e-5);
        Close("dx", dx, edx, 2e-5, 1e-4);
        Close("dweight", dw, edw, 1e-4, 1e-5);
    }

    [Fact]
    public void ReferenceBackwardAgreesWithFiniteDifferences()
    {
        const int n = 2, c = 4, s = 3, g = 2;
        const double eps = 1e-3;
        var (xf, wf, bf, dyf) = MakeCase(n, c, s, 21);
        var x = ToDouble(xf);
        var w = ToDouble(wf);
        var b = ToDouble(bf);
        var dy = ToDouble(dyf);
        double Loss() => Dot(Reference.Forward(x, w, b, n, c, s, g, eps).Y, dy);
        var (dx, dw, db) = Reference.Backward(dy, x, w, n, c, s, g, eps);
        for (int i = 0; i < x.Length; i++) Assert.Equal(dx[i], Numeric(Loss, x, i), 6);
        for (int i = 0; i < c; i++)
        {
            Assert.Equal(dw[i], Numeric(Loss, w, i), 6);
            Assert.Equal(db[i], Numeric(Loss, b, i), 6);
        }
    }

    [Fact]
    public void GradientOutputsAreOverwrittenNotAccumulated()
    {
        const int n = 3, c = 6, s = 11, g = 2;
        var (x, w, b, dy) = MakeCase(n, c, s, 8);
        var y = new float[x.Length];
        var mean = new float[n * g];
        var rstd = new float[n * g];
        GroupNormKernels.Forward(x, w, b, y, mean, rstd, n, c, s, g, 1e-5f);
        var dx1 = new float[x.Length];
        var dw1 = new float[c];
        var db1 = new float[c];
        GroupNormKernels.Backward(dy, x, w, mean, rstd, dx1, dw1, db1, n, c, s, g);
        var dx2 = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        var dw2 = Enumerable.Repeat(9f, c).ToArray();
        var db2 = Enumerable.Repeat(9f, c).ToArray();
        GroupNormKernels.Backward(dy, x, w, mean, rstd, dx2, dw2, db2, n, c, s, g);
        Assert.Equal(dx1, dx2);
        Assert.Equal(dw1, dw2);
        Assert.Equal(db1, db2);
    }

    [Fact]
    public void ChannelsNotDivisibleByGroupsIsAClearError()
    {
        var e = Assert.Throws<InvalidValueException>(() =>
            GroupNormKernels.Forward(new float[12], [], [], new float[12], new float[8], new float[8], 2, 6, 1, 4, 1e-5f));
        Assert.Equal("groups", e.ParameterName);
        Assert.Contains("GroupNorm.Forward: 6 channels cannot be split into 4 equal groups", e.Message);
        var e2 = Assert.Throws<InvalidValueException>(() =>
            GroupNormKernels.Backward(new float[12], new float[12], [], new float[8], new float[8], new float[12], [], [], 2, 6, 1, 4));
        Assert.Contains("GroupNorm.Backward", e2.Message);
    }

    [Fact]
    public void ArgumentErrorsNameTheOpTheArgumentAndTheValues()
    {
        float[] x = new float[24], stats = new float[4];
        var e1 = Assert.Throws<ShapeMismatchException>(() => GroupNormKernels.Forward(x, [], [], new float[24], new float[3], stats, 2, 6, 2, 2, 1e-5f));
        Assert.Contains("GroupNorm.Forward: mean has 3 elements but there are n·groups = 2·2 = 4 (sample, group) blocks", e1.Message);
        var e2 = Assert.Throws<ShapeMismatchException>(() => GroupNormKernels.Forward(x, new float[5], [], new float[24], stats, stats, 2, 6, 2, 2, 1e-5f));
        Assert.Contains("weight has 5 elements but there are 6 channels", e2.Message);
        var e3 = Assert.Throws<ShapeMismatchException>(() => GroupNormKernels.Forward(x, [], [], new float[23], stats, stats, 2, 6, 2, 2, 1e-5f));
        Assert.Contains("y has 23 elements but the input size [2, 6, 2] needs 24", e3.Message);
        var e4 = Assert.Throws<InvalidValueException>(() => GroupNormKernels.Forward(x, [], [], x, stats, stats, 2, 6, 2, 0, 1e-5f));
        Assert.Contains("groups must be at least 1, got 0", e4.Message);
        var e5 = Assert.Throws<InvalidValueException>(() => GroupNormKernels.Forward(x, [], [], x, stats, stats, 2, 6, 2, 2, float.PositiveInfinity));
        Assert.Equal("eps", e5.ParameterName);
        var e6 = Assert.Throws<ShapeMismatchException>(() => GroupNormKernels.Backward(x, x, [], stats, stats, x, new float[7], [], 2, 6, 2, 2));
        Assert.Contains("GroupNorm.Backward: dweight has 7 elements", e6.Message);
    }
}
