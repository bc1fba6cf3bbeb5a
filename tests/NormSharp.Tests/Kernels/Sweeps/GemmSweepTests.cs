using NormSharp.Kernels;
using NormSharp.Tensors;
using static NormSharp.Tests.Kernels.Sweeps.EveryWidth;

namespace NormSharp.Tests.Kernels.Sweeps;

/// <summary>
/// GEMM over every m, n, k in 1..33 (cycling the transpositions and alpha/beta) and a few large shapes, on the
/// packed path and, where it applies, the streaming path: the same bits at every vector width and agreement with
/// a float64 product.
/// </summary>
[Trait("Category", "Kernels")]
public class GemmSweepTests
{
    private static readonly (float Alpha, float Beta)[] Scalings = [(1f, 0f), (0.5f, 1f), (-1.5f, 0.25f)];

    private static float[] RunAt(GemmPath path, bool ta, bool tb, int m, int n, int k, float alpha, float[] a, float[] b, float beta, float[] c0)
    {
        var c = (float[])c0.Clone();
        Gemm.MultiplyCore(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, c, n, path);
        return c;
    }

    private static void Check(string what, bool ta, bool tb, int m, int n, int k, float alpha, float[] a, float[] b, float beta, float[] c0, float[] c)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double dot = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double t = (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                    dot += t;
                    magnitude += Math.Abs(t);
                }
                double old = beta == 0f ? 0 : c0[i * n + j];
                double expected = alpha * dot + beta * old;
                // Float32 accumulation over k terms, then the alpha/beta update: a forward error bound.
                double tol = (k + 3) * 1.2e-7 * (Math.Abs(alpha) * magnitude + Math.Abs(beta * old)) + 1e-30;
                if (!(Math.Abs(c[i * n + j] - expected) <= tol))
                    Assert.Fail($"{what}: C[{i},{j}] = {c[i * n + j]}, expected {expected} ± {tol}");
            }
        }
    }

    private static void Case(bool ta, bool tb, int m, int n, int k, float alpha, float beta, Rng rng, bool checkReference)
    {
        var a = new float[m * k];
        var b = new float[k * n];
        var c0 = new float[m * n];
        rng.FillUniform(a, -1f, 1f);
        rng.FillUniform(b, -1f, 1f);
        rng.FillUniform(c0, -1f, 1f);
        string shape = $"m={m} n={n} k={k} transA={ta} transB={tb} alpha={alpha} beta={beta}";
        float[] packed = SameBits($"packed {shape}", () => RunAt(GemmPath.Packed, ta, tb, m, n, k, alpha, a, b, beta, c0));
        if (checkReference) Check($"packed {shape}", ta, tb, m, n, k, alpha, a, b, beta, c0, packed);
        // The streaming path takes few rows, or (mirrored) few columns with A's rows contiguous.
        if (m <= GemmSmall.MaxRows || (!ta && n <= GemmSmall.MaxRows))
        {
            float[] small = SameBits($"streaming {shape}", () => RunAt(GemmPath.Small, ta, tb, m, n, k, alpha, a, b, beta, c0));
            if (checkReference) Check($"streaming {shape}", ta, tb, m, n, k, alpha, a, b, beta, c0, small);
        }
        SameBits($"auto {shape}", () => RunAt(GemmPath.Auto, ta, tb, m, n, k, alpha, a, b, beta, c0));
    }

    [Fact]
    public void EveryShapeUpTo33GivesTheSameBitsAtEveryWidthAndMatchesFloat64()
    {
        var rng = new Rng(31);
        int index = 0;
        for (int m = 1; m <= 33; m++)
            for (int n = 1; n <= 33; n++)
                for (int k = 1; k <= 33; k++, index++)
                {
                    int combo = (m + 2 * n + 3 * k) % 4;
                    var (alpha, beta) = Scalings[index % Scalings.Length];
                    Case((combo & 1) != 0, (combo & 2) != 0, m, n, k, alpha, beta, rng, checkReference: true);
                }
    }

    [Theory]
    [InlineData(false, true, 128, 1000, 784)]
    [InlineData(false, true, 4, 1000, 1000)]
    [InlineData(false, false, 300, 257, 1000)]
    [InlineData(true, false, 1000, 784, 128)]
    [InlineData(false, false, 100, 9, 2000)]
    [InlineData(false, true, 37, 33, 3000)]
    [InlineData(true, true, 70, 65, 513)]
    public void LargeShapesGiveTheSameBitsAtEveryWidthAndMatchFloat64(bool ta, bool tb, int m, int n, int k) =>
        Case(ta, tb, m, n, k, 1f, 0.5f, new Rng((ulong)(m * n + k)), checkReference: true);
}
