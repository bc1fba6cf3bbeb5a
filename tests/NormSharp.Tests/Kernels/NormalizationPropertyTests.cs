using CsCheck;
using NormSharp.Kernels.Normalization;

namespace NormSharp.Tests.Kernels;

/// <summary>
/// Invariances of the normalizations as property tests: LayerNorm's output does not change when a row is shifted or
/// scaled by a positive factor, RMSNorm's does not change under positive scaling. With eps = 0 and a power-of-two
/// factor the scaled row is exact in float, and so is the invariance: the outputs are bit-identical.
/// </summary>
[Trait("Category", "Kernels")]
public class NormalizationPropertyTests
{
    /// <summary>
    /// Rows of values in [−10, 10]; magnitudes below 1e-20 become 0, so that scaling by 2^±20 stays clear of the
    /// subnormal range, where a power-of-two scale is no longer exact.
    /// </summary>
    private static readonly Gen<float[]> Rows = Gen.Float[-10f, 10f].Array[2, 300].Select(x => x.Select(v => MathF.Abs(v) < 1e-20f ? 0f : v).ToArray());

    private static float[] LayerNorm(float[] x)
    {
        var y = new float[x.Length];
        LayerNormKernels.Forward(x, default, default, y, new float[1], new float[1], 1, x.Length, 0f);
        return y;
    }

    private static float[] RmsNorm(float[] x)
    {
        var y = new float[x.Length];
        RmsNormKernels.Forward(x, default, y, new float[1], 1, x.Length, 0f);
        return y;
    }

    /// <summary>Rows whose spread is not lost in float rounding (a row of equal values has no normalized form at eps = 0).</summary>
    private static bool Spread(float[] x) => x.Max() - x.Min() > 1e-2f;

    private static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: {actual[i]} against {expected[i]} (tolerance {tolerance})");
    }

    [Fact]
    public void LayerNormIsUnchangedByShiftingAndPositivelyScalingARow() =>
        Gen.Select(Rows, Gen.Float[0.5f, 50f], Gen.Float[-100f, 100f], (x, a, c) => (x, a, c)).Sample(t =>
        {
            var (x, a, c) = t;
            if (!Spread(x)) return;
            // a·x + c is rounded to float: an error of about ulp(|c|·a + 10a) per element, relative to a spread of order a.
            var moved = x.Select(v => a * v + c * a).ToArray();
            AssertClose(LayerNorm(x), LayerNorm(moved), 2e-4);
        }, iter: 200);

    [Fact]
    public void LayerNormIsExactlyUnchangedByAPowerOfTwoScale() =>
        Gen.Select(Rows, Gen.Int[-20, 20], (x, k) => (x, k)).Sample(t =>
        {
            var (x, k) = t;
            if (!Spread(x)) return;
            float f = MathF.ScaleB(1f, k);
            Sweeps.EveryWidth.AssertBits($"LayerNorm of x·2^{k}", LayerNorm(x), LayerNorm(x.Select(v => v * f).ToArray()));
        }, iter: 200);

    [Fact]
    public void RmsNormIsUnchangedByPositivelyScalingARow() =>
        Gen.Select(Rows, Gen.Float[0.01f, 100f], (x, a) => (x, a)).Sample(t =>
        {
            var (x, a) = t;
            if (!Spread(x)) return;
            AssertClose(RmsNorm(x), RmsNorm(x.Select(v => a * v).ToArray()), 1e-5);
            float f = MathF.ScaleB(1f, (int)MathF.Round(MathF.Log2(a)));
            Sweeps.EveryWidth.AssertBits("RmsNorm of x·2^k", RmsNorm(x), RmsNorm(x.Select(v => v * f).ToArray()));
        }, iter: 200);
}
