using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels;

public class GemmTests
{
    private static double[] Reference(bool ta, bool tb, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var r = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta ? a[p * lda + i] : a[i * lda + p];
                    double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                }
                r[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
            }
        return r;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(17, 33, 129)]
    [InlineData(4, 1007, 300)]
    [InlineData(8, 40, 1000)]
    [InlineData(130, 70, 300)]
    [InlineData(61, 257, 513)]
    public void AllTransposeCombinationsMatchTheReference(int m, int n, int k)
    {
        var rng = new Rng((ulong)(m * 7 + n * 13 + k));
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f), (-2f, 0.25f) })
                {
                    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
                    var a = new float[(ta ? k : m) * lda];
                    var b = new float[(tb ? n : k) * ldb];
                    var c = new float[m * ldc];
                    rng.FillUniform(a, -1, 1);
                    rng.FillUniform(b, -1, 1);
                    rng.FillUniform(c, -1, 1);
                    var expected = Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                    Gemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double e = expected[i * n + j];
                            Assert.True(Math.Abs(c[i * ldc + j] - e) <= 1e-5 * k + 1e-5 * Math.Abs(e),
                                $"ta={ta} tb={tb} α={alpha} β={beta} C[{i},{j}] = {c[i * ldc + j]}, expected {e}");
                        }
                    // The padding columns beyond n are untouched.
                    for (int i = 0; i < m; i++)
                        Assert.True(c[i * ldc + n] >= -1 && c[i * ldc + n] <= 1);
                }
    }

    [Fact]
    public void BetaZeroIgnoresNaNInC()
    {
        var a = new float[] { 1, 2, 3, 4 };
        var b = new float[] { 1, 0, 0, 1 };
        var c = new float[] { float.NaN, float.NaN, float.NaN, float.NaN };
        Gemm.Multiply(false, false, 2, 2, 2, 1f, a, b, 0f, c);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, c);
        var big = Enumerable.Repeat(float.NaN, 100 * 100).ToArray();
        var ones = Enumerable.Repeat(1f, 100 * 100).ToArray();
        Gemm.Multiply(false, true, 100, 100, 100, 1f, ones, ones, 0f, big);
        Assert.All(big, v => Assert.Equal(100f, v));
    }

    [Fact]
    public void DeterministicAcrossRuns()
    {
        var rng = new Rng(3);
        var a = new float[128 * 784];
        var b = new float[1000 * 784];
        rng.FillUniform(a, -1, 1);
        rng.FillUniform(b, -1, 1);
        var c1 = new float[128 * 1000];
        var c2 = new float[128 * 1000];
        Gemm.Multiply(false, true, 128, 1000, 784, 1f, a, b, 0f, c1);
        Gemm.Multiply(false, true, 128, 1000, 784, 1f, a, b, 0f, c2);
        Assert.Equal(c1, c2);
    }

    [Fact]
    public void ShortOperandsAreReportedByName()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, new float[7], new float[12], 0f, new float[6]));
        Assert.Contains("A", e.Message);
        Assert.Contains("8", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, -1, 3, 4, 1f, new float[8], new float[12], 0f, new float[6]));
        Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, new float[8], 4, new float[12], 2, 0f, new float[6], 3));
    }
}
