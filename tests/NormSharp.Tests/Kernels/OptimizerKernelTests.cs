using NormSharp.Kernels;

namespace NormSharp.Tests.Kernels;

/// <summary>Optimizer updates against steps worked out by hand from the textbook formulas.</summary>
[Trait("Category", "Kernels")]
public class OptimizerKernelTests
{
    [Fact]
    public void SgdWithMomentumAndWeightDecay()
    {
        float[] p = [1f, -2f];
        float[] buf = new float[2];
        // Step 1: g = grad + 0.1·p = [0.5+0.1, 0.5−0.2] = [0.6, 0.3]; buf = g; p −= 0.1·g.
        OptimizerKernels.SgdStep(p, [0.5f, 0.5f], buf, 0.1f, 0.9f, 0f, 0.1f, false, firstStep: true);
        Assert.Equal(1f - 0.06f, p[0], 6);
        Assert.Equal(-2f - 0.03f, p[1], 6);
        // Step 2: g = [0.5 + 0.094, 0.5 − 0.203] ; buf = 0.9·buf + g; p −= 0.1·buf.
        float g0 = 0.5f + 0.1f * 0.94f, g1 = 0.5f + 0.1f * -2.03f;
        float b0 = 0.9f * 0.6f + g0, b1 = 0.9f * 0.3f + g1;
        OptimizerKernels.SgdStep(p, [0.5f, 0.5f], buf, 0.1f, 0.9f, 0f, 0.1f, false, firstStep: false);
        Assert.Equal(0.94f - 0.1f * b0, p[0], 5);
        Assert.Equal(-2.03f - 0.1f * b1, p[1], 5);
    }

    [Fact]
    public void SgdNesterov()
    {
        float[] p = [1f];
        float[] buf = new float[1];
        OptimizerKernels.SgdStep(p, [1f], buf, 0.5f, 0.5f, 0f, 0f, true, firstStep: true);
        // buf = 1, g = 1 + 0.5·1 = 1.5, p = 1 − 0.75.
        Assert.Equal(0.25f, p[0], 6);
    }

    [Fact]
    public void AdamFirstTwoSteps()
    {
        // At step 1 Adam moves every coordinate by about lr·sign(g) (m̂ = g, v̂ = g²).
        var p = new float[19];
        var g = Enumerable.Range(0, 19).Select(i => i % 2 == 0 ? 0.3f : -2f).ToArray();
        var m = new float[19];
        var v = new float[19];
        OptimizerKernels.AdamStep(p, g, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0f, false, 1);
        for (int i = 0; i < 19; i++) Assert.Equal(-0.01 * Math.Sign(g[i]), p[i], 6);
        // Step 2 by the formula in double.
        double m2 = 0.9 * 0.1 * 0.3 + 0.1 * 0.3, v2 = 0.999 * 0.001 * 0.09 + 0.001 * 0.09;
        double expected = -0.01 - 0.01 / (1 - 0.81) * m2 / (Math.Sqrt(v2) / Math.Sqrt(1 - 0.999 * 0.999) + 1e-8);
        OptimizerKernels.AdamStep(p, g, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0f, false, 2);
        Assert.Equal(expected, p[0], 5);
        Assert.Equal(expected, p[16], 5);
    }

    [Fact]
    public void AdamWDecaysTheWeightsDirectly()
    {
        float[] p = [2f];
        OptimizerKernels.AdamStep(p, [0f], new float[1], new float[1], 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, true, 1);
        // A zero gradient leaves only the decay: p·(1 − lr·wd).
        Assert.Equal(2f * (1 - 0.05f), p[0], 6);
        float[] q = [2f];
        OptimizerKernels.AdamStep(q, [0f], new float[1], new float[1], 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, false, 1);
        // L2 enters the gradient (g = 1), so Adam's first step moves by lr.
        Assert.Equal(1.9f, q[0], 5);
    }
}
