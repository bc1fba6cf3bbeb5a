using NormSharp.Errors;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;
using static NormSharp.Tests.Kernels.Normalization.ChannelNormTestHelpers;

namespace NormSharp.Tests.Kernels.Normalization;

[Trait("Category", "Kernels")]
public class BatchNormKernelTests
{
    /// <summary>Float64 batch norm over [N, C, L], written for clarity rather than speed.</summary>
    internal static class Reference
    {
        public static (double[] Y, double[] Mean, double[] InvStd, double[] Var) ForwardTraining(double[] x, double[]? w, double[]? b, int n, int c, int l, double eps)
        {
            var y = new double[x.Length];
            var mean = new double[c];
            var invStd = new double[c];
            var variance = new double[c];
            double m = (double)n * l;
            for (int ch = 0; ch < c; ch++)
            {
                double s = 0;
                for (int i = 0; i < n; i++) for (int j = 0; j < l; j++) s += x[(i * c + ch) * l + j];
                double mu = s / m;
                double q = 0;
                for (int i = 0; i < n; i++) for (int j = 0; j < l; j++) q += Math.Pow(x[(i * c + ch) * l + j] - mu, 2);
                double v = q / m;
                double r = 1 / Math.Sqrt(v + eps);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < l; j++)
                    {
                        int k = (i * c + ch) * l + j;
                        y[k] = (x[k] - mu) * r * (w?[ch] ?? 1) + (b?[ch] ?? 0);
                    }
                mean[ch] = mu;
                invStd[ch] = r;
                variance[ch] = v;
            }
            return (y, mean, invStd, variance);
        }

        public static (double[] Dx, double[] DW, double[] DB) BackwardTraining(double[] dy, double[] x, double[]? w, int n, int c, int l, double eps)
        {
            var (_, mean, invStd, _) = ForwardTraining(x, w, null, n, c, l, eps);
            var dx = new double[x.Length];
            var dw = new double[c];
            var db = new double[c];
            double m = (double)n * l;
            for (int ch = 0; ch < c; ch++)
            {
                double sdy = 0, sdyx = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < l; j++)
                    {
                        int k = (i * c + ch) * l + j;
                        sdy += dy[k];
                        sdyx += dy[k] * (x[k] - mean[ch]) * invStd[ch];
                    }
                db[ch] = sdy;
                dw[ch] = sdyx;
                double g = (w?[ch] ?? 1) * invStd[ch];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < l; j++)
                    {
                        int k = (i * c + ch) * l + j;
                        double xhat = (x[k] - mean[ch]) * invStd[ch];
                        dx[k] = g * (dy[k] - sdy / m - xhat * sdyx / m);
                    }
            }
            return (dx, dw, db);
        }

        public static double[] ForwardInference(double[] x, double[]? w, double[]? b, double[] rm, double[] rv, int n, int c, int l, double eps)
        {
            var y = new double[x.Length];
            for (int k = 0; k < x.Length; k++)
            {
                int ch = k / l % c;
                y[k] = (x[k] - rm[ch]) / Math.Sqrt(rv[ch] + eps) * (w?[ch] ?? 1) + (b?[ch] ?? 0);
            }
            return y;
        }

        public static (double[] Dx, double[] DW, double[] DB) BackwardInference(double[] dy, double[] x, double[]? w, double[] rm, double[] rv, int n, int c, int l, double eps)
        {
            var dx = new double[x.Length];
            var dw = new double[c];
            var db = new double[c];
            for (int k = 0; k < x.Length; k++)
            {
                int ch = k / l % c;
                double r = 1 / Math.Sqrt(rv[ch] + eps);
                dx[k] = dy[k] * (w?[ch] ?? 1) * r;
                dw[ch] += dy[k] * (x[k] - rm[ch]) * r;
                db[ch] += dy[k];
            }
            return (dx, dw, db);
        }
    }

    private sealed record Case(int N, int C, int L, float[] X, float[] W, float[] B, float[] Dy, float[] RunMean, float[] RunVar);

    private static Case MakeCase(int n, int c, int l, int seed, float mean = 0.5f, float std = 2f)
    {
        var rng = new Rng((ulong)seed);
        var x = Normal(rng, n * c * l, mean, std);
        var w = Normal(rng, c, 1, 0.5f);
        var b = Normal(rng, c);
        var dy = Normal(rng, n * c * l);
        var rm = Normal(rng, c, 0, 0.3f);
        var rv = Array.ConvertAll(Normal(rng, c), v => 0.5f + v * v);
        return new Case(n, c, l, x, w, b, dy, rm, rv);
    }

    public static TheoryData<int, int, int> Sizes => new()
    {
        { 2, 1, 1 }, { 3, 3, 1 }, { 17, 5, 1 }, { 5, 1007, 1 }, { 64, 300, 1 },
        { 1, 2, 2 }, { 2, 17, 3 }, { 4, 3, 17 }, { 1, 2, 1007 }, { 3, 7, 64 },
        // Big enough for several parallel chunks: one over channels of the [N, C] layout, one of [N, C, L].
        { 1024, 96, 1 }, { 8, 16, 4096 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void TrainingForwardAndBackwardMatchTheFloat64Reference(int n, int c, int l)
    {
        var k = MakeCase(n, c, l, n * 1000 + c * 10 + l);
        const float eps = 1e-5f, momentum = 0.1f;
        var y = new float[k.X.Length];
        var saveMean = new float[c];
        var saveInvStd = new float[c];
        var rm = (float[])k.RunMean.Clone();
        var rv = (float[])k.RunVar.Clone();
        BatchNormKernels.ForwardTraining(k.X, k.W, k.B, y, saveMean, saveInvStd, rm, rv, n, c, l, eps, momentum);

        var x = ToDouble(k.X);
        var (ey, emean, einv, evar) = Reference.ForwardTraining(x, ToDouble(k.W), ToDouble(k.B), n, c, l, eps);
        Close("y", y, ey, 1e-5, 1e-5);
        Close("saveMean", saveMean, emean, 1e-6, 1e-6);
        Close("saveInvStd", saveInvStd, einv, 0, 1e-6);
        double m = (double)n * l;
        var erm = new double[c];
        var erv = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            erm[ch] = 0.9 * k.RunMean[ch] + 0.1 * emean[ch];
            erv[ch] = 0.9 * k.RunVar[ch] + 0.1 * evar[ch] * m / (m - 1);
        }
        Close("runningMean", rm, erm, 1e-6, 1e-6);
        Close("runningVar", rv, erv, 1e-6, 1e-6);

        var dx = new float[k.X.Length];
        var dw = new float[c];
        var db = new float[c];
        BatchNormKernels.BackwardTraining(k.Dy, k.X, k.W, saveMean, saveInvStd, dx, dw, db, n, c, l);
        var (edx, edw, edb) = Reference.BackwardTraining(ToDouble(k.Dy), x, ToDouble(k.W), n, c, l, eps);
        Close("dx", dx, edx, 1e-5, 1e-4);
        Close("dweight", dw, edw, 1e-4, 1e-5);
        Close("dbias", db, edb, 1e-4, 1e-5);
    }

    [Theory]
    [InlineData(4, 3, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(2, 300, 1)]
    public void WithoutAffineOrRunningStatistics(int n, int c, int l)
    {
        var k = MakeCase(n, c, l, 7);
        var y = new float[k.X.Length];
        var saveMean = new float[c];
        var saveInvStd = new float[c];
        BatchNormKernels.ForwardTraining(k.X, [], [], y, saveMean, saveInvStd, [], [], n, c, l, 1e-3f, 0.1f);
        var x = ToDouble(k.X);
        Close("y", y, Reference.ForwardTraining(x, null, null, n, c, l, 1e-3).Y, 1e-5, 1e-5);

        var dx = new float[k.X.Length];
        var dw = new float[c];
        var db = new float[c];
        BatchNormKernels.BackwardTraining(k.Dy, k.X, [], saveMean, saveInvStd, dx, dw, db, n, c, l);
        var (edx, edw, edb) = Reference.BackwardTraining(ToDouble(k.Dy), x, null, n, c, l, 1e-3);
        Close("dx", dx, edx, 1e-5, 1e-4);
        Close("dweight", dw, edw, 1e-4, 1e-5);
        Close("dbias", db, edb, 1e-4, 1e-5);

        // Each gradient output is optional on its own.
        var dxOnly = new float[k.X.Length];
        BatchNormKernels.BackwardTraining(k.Dy, k.X, [], saveMean, saveInvStd, dxOnly, [], [], n, c, l);
        Assert.Equal(dx, dxOnly);
        var dwOnly = new float[c];
        BatchNormKernels.BackwardTraining(k.Dy, k.X, [], saveMean, saveInvStd, [], dwOnly, [], n, c, l);
        Assert.Equal(dw, dwOnly);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void InferenceForwardAndBackwardMatchTheFloat64Reference(int n, int c, int l)
    {
        var k = MakeCase(n, c, l, 31 + n + c + l);
        const float eps = 1e-5f;
        var y = new float[k.X.Length];
        BatchNormKernels.ForwardInference(k.X, k.W, k.B, k.RunMean, k.RunVar, y, n, c, l, eps);
        var x = ToDouble(k.X);
        var rm = ToDouble(k.RunMean);
        var rv = ToDouble(k.RunVar);
        Close("y", y, Reference.ForwardInference(x, ToDouble(k.W), ToDouble(k.B), rm, rv, n, c, l, eps), 1e-5, 1e-5);

        var dx = new float[k.X.Length];
        var dw = new float[c];
        var db = new float[c];
        BatchNormKernels.BackwardInference(k.Dy, k.X, k.W, k.RunMean, k.RunVar, dx, dw, db, n, c, l, eps);
        var (edx, edw, edb) = Reference.BackwardInference(ToDouble(k.Dy), x, ToDouble(k.W), rm, rv, n, c, l, eps);
        Close("dx", dx, edx, 1e-6, 1e-5);
        Close("dweight", dw, edw, 1e-4, 1e-5);
        Close("dbias", db, edb, 1e-4, 1e-5);

        // dbias alone needs neither x nor the running mean.
        var db2 = new float[c];
        BatchNormKernels.BackwardInference(k.Dy, [], k.W, [], k.RunVar, [], [], db2, n, c, l, eps);
        Assert.Equal(db, db2);
    }

    [Theory]
    [InlineData(64, 5, 1)]
    [InlineData(4, 5, 33)]
    public void StatisticsStayAccurateAtALargeMean(int n, int c, int l)
    {
        // A mean 10^4 times the spread: E[x²] - E[x]² in float32 would lose every digit of the variance.
        var k = MakeCase(n, c, l, 5, mean: 10_000f, std: 1f);
        var y = new float[k.X.Length];
        var saveMean = new float[c];
        var saveInvStd = new float[c];
        BatchNormKernels.ForwardTraining(k.X, k.W, k.B, y, saveMean, saveInvStd, [], [], n, c, l, 1e-5f, 0.1f);
        var x = ToDouble(k.X);
        var (ey, _, einv, _) = Reference.ForwardTraining(x, ToDouble(k.W), ToDouble(k.B), n, c, l, 1e-5);
        Close("saveInvStd", saveInvStd, einv, 0, 1e-6);
        Close("y", y, ey, 2e-5, 2e-5);

        var dx = new float[k.X.Length];
        var dw = new float[c];
        var db = new float[c];
        BatchNormKernels.BackwardTraining(k.Dy, k.X, k.W, saveMean, saveInvStd, dx, dw, db, n, c, l);
        var (edx, edw, _) = Reference.BackwardTraining(ToDouble(k.Dy), x, ToDouble(k.W), n, c, l, 1e-5);
        Close("dx", dx, edx, 2e-5, 1e-4);
        Close("dweight", dw, edw, 1e-4, 1e-5);
    }

    [Fact]
    public void ReferenceTrainingBackwardAgreesWithFiniteDifferences()
    {
        const int n = 3, c = 2, l = 4;
        const double eps = 1e-3;
        var k = MakeCase(n, c, l, 11);
        var x = ToDouble(k.X);
        var w = ToDouble(k.W);
        var b = ToDouble(k.B);
        var dy = ToDouble(k.Dy);
        double Loss() => Dot(Reference.ForwardTraining(x, w, b, n, c, l, eps).Y, dy);
        var (dx, dw, db) = Reference.BackwardTraining(dy, x, w, n, c, l, eps);
        for (int i = 0; i < x.Length; i++) Assert.Equal(dx[i], Numeric(Loss, x, i), 6);
        for (int i = 0; i < c; i++)
        {
            Assert.Equal(dw[i], Numeric(Loss, w, i), 6);
            Assert.Equal(db[i], Numeric(Loss, b, i), 6);
        }
    }

    [Fact]
    public void ReferenceInferenceBackwardAgreesWithFiniteDifferences()
    {
        const int n = 2, c = 3, l = 2;
        const double eps = 1e-3;
        var k = MakeCase(n, c, l, 12);
        var x = ToDouble(k.X);
        var w = ToDouble(k.W);
        var b = ToDouble(k.B);
        var rm = ToDouble(k.RunMean);
        var rv = ToDouble(k.RunVar);
        var dy = ToDouble(k.Dy);
        double Loss() => Dot(Reference.ForwardInference(x, w, b, rm, rv, n, c, l, eps), dy);
        var (dx, dw, db) = Reference.BackwardInference(dy, x, w, rm, rv, n, c, l, eps);
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
        const int n = 5, c = 9, l = 3;
        var k = MakeCase(n, c, l, 13);
        var y = new float[k.X.Length];
        var sm = new float[c];
        var si = new float[c];
        BatchNormKernels.ForwardTraining(k.X, k.W, k.B, y, sm, si, [], [], n, c, l, 1e-5f, 0.1f);
        var dx1 = new float[k.X.Length];
        var dw1 = new float[c];
        var db1 = new float[c];
        BatchNormKernels.BackwardTraining(k.Dy, k.X, k.W, sm, si, dx1, dw1, db1, n, c, l);
        var dx2 = Enumerable.Repeat(float.NaN, k.X.Length).ToArray();
        var dw2 = Enumerable.Repeat(123f, c).ToArray();
        var db2 = Enumerable.Repeat(-7f, c).ToArray();
        BatchNormKernels.BackwardTraining(k.Dy, k.X, k.W, sm, si, dx2, dw2, db2, n, c, l);
        Assert.Equal(dx1, dx2);
        Assert.Equal(dw1, dw2);
        Assert.Equal(db1, db2);

        var dw3 = Enumerable.Repeat(55f, c).ToArray();
        var db3 = Enumerable.Repeat(55f, c).ToArray();
        var dx3 = Enumerable.Repeat(55f, k.X.Length).ToArray();
        var dwRef = new float[c];
        var dbRef = new float[c];
        var dxRef = new float[k.X.Length];
        BatchNormKernels.BackwardInference(k.Dy, k.X, k.W, k.RunMean, k.RunVar, dxRef, dwRef, dbRef, n, c, l, 1e-5f);
        BatchNormKernels.BackwardInference(k.Dy, k.X, k.W, k.RunMean, k.RunVar, dx3, dw3, db3, n, c, l, 1e-5f);
        Assert.Equal(dxRef, dx3);
        Assert.Equal(dwRef, dw3);
        Assert.Equal(dbRef, db3);
    }

    [Theory]
    [InlineData(1, 4, 1)]
    [InlineData(1, 1, 1)]
    public void TrainingWithOneValuePerChannelIsRejectedLikePyTorch(int n, int c, int l)
    {
        var e = Assert.Throws<InvalidValueException>(() =>
            BatchNormKernels.ForwardTraining(new float[n * c * l], [], [], new float[n * c * l], new float[c], new float[c], [], [], n, c, l, 1e-5f, 0.1f));
        Assert.Contains("Expected more than 1 value per channel when training", e.Message);
        Assert.Contains($"[{n}, {c}]", e.Message);
        // Inference with a single value is fine.
        var y = new float[c];
        BatchNormKernels.ForwardInference(Enumerable.Repeat(3f, c).ToArray(), [], [], new float[c], Enumerable.Repeat(1f, c).ToArray(), y, n, c, l, 0f);
        Assert.All(y, v => Assert.Equal(3f, v));
    }

    [Fact]
    public void ArgumentErrorsNameTheOpTheArgumentAndTheValues()
    {
        float[] x = new float[24], y = new float[24], s = new float[3];
        var e1 = Assert.Throws<ShapeMismatchException>(() => BatchNormKernels.ForwardTraining(x.AsSpan(1), [], [], y, s, s, [], [], 2, 3, 4, 1e-5f, 0.1f));
        Assert.Contains("BatchNorm.ForwardTraining: x has 23 elements", e1.Message);
        Assert.Contains("[2, 3, 4]", e1.Message);
        Assert.Contains("24", e1.Message);
        var e2 = Assert.Throws<ShapeMismatchException>(() => BatchNormKernels.ForwardTraining(x, new float[4], [], y, s, s, [], [], 2, 3, 4, 1e-5f, 0.1f));
        Assert.Contains("weight has 4 elements but there are 3 channels", e2.Message);
        var e3 = Assert.Throws<ShapeMismatchException>(() => BatchNormKernels.ForwardTraining(x, [], [], y, s, s, new float[3], [], 2, 3, 4, 1e-5f, 0.1f));
        Assert.Contains("runningMean has 3 elements and runningVar 0", e3.Message);
        var e4 = Assert.Throws<InvalidValueException>(() => BatchNormKernels.ForwardTraining(x, [], [], y, s, s, [], [], 2, 3, 4, -1e-5f, 0.1f));
        Assert.Equal("eps", e4.ParameterName);
        var e5 = Assert.Throws<InvalidValueException>(() => BatchNormKernels.ForwardTraining(x, [], [], y, s, s, [], [], 2, 3, 4, 1e-5f, 1.5f));
        Assert.Contains("momentum must be in [0, 1], got 1.5", e5.Message);
        var e6 = Assert.Throws<InvalidValueException>(() => BatchNormKernels.ForwardInference(x, [], [], s, s, y, 0, 3, 4, 1e-5f));
        Assert.Contains("n (batch size) must be at least 1, got 0", e6.Message);
        var e7 = Assert.Throws<ShapeMismatchException>(() => BatchNormKernels.BackwardTraining(x, x, [], s, new float[2], y, [], [], 2, 3, 4));
        Assert.Contains("BatchNorm.BackwardTraining: saveInvStd has 2 elements but there are 3 channels", e7.Message);
        var e8 = Assert.Throws<ShapeMismatchException>(() => BatchNormKernels.BackwardInference(x, [], [], s, s, [], new float[3], [], 2, 3, 4, 1e-5f));
        Assert.Contains("BatchNorm.BackwardInference: x has 0 elements", e8.Message);
        var e9 = Assert.Throws<ShapeMismatchException>(() => BatchNormKernels.BackwardTraining(x, x, [], s, s, new float[25], [], [], 2, 3, 4));
        Assert.Contains("dx has 25 elements", e9.Message);
        Assert.Throws<InvalidValueException>(() => BatchNormKernels.ForwardInference(x, [], [], s, s, y, 2, 3, 4, float.NaN));
    }
}
