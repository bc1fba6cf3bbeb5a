using NormSharp.Autograd;
using NormSharp.Kernels;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels;

/// <summary>
/// Optimizer state that decays while its gradient stays zero (Adam's first moment, SGD's momentum) drifts into the
/// subnormal range, where x86 arithmetic is about a hundred times slower. The updates flush such values to zero;
/// these tests build exactly that state and check that nothing subnormal is left.
/// </summary>
[Trait("Category", "Kernels")]
public class SubnormalFlushTests
{
    private static int Subnormals(ReadOnlySpan<float> values)
    {
        int count = 0;
        foreach (float v in values) if (float.IsSubnormal(v)) count++;
        return count;
    }

    /// <summary>Σ w ⊙ x as a loss: the gradient of w is x, so x = 0 starves w of gradient.</summary>
    private static void Step(Optimizer optimizer, Variable w, Tensor x)
    {
        optimizer.ZeroGrad();
        F.Sum(F.Mul(w, Variable.Constant(x))).Backward();
        optimizer.Step();
    }

    [Fact]
    public void AThousandAdamStepsWithoutGradientLeaveNoSubnormalParameterOrState()
    {
        // Without flushing, m = 0.9ᵗ·m₀ from m₀ ≈ 1e-4 falls below 2⁻¹²⁶ after about 790 steps.
        Assert.True(float.IsSubnormal((float)(1e-4 * Math.Pow(0.9, 800))), "the scenario must produce subnormals when not flushed");
        foreach (bool decoupled in new[] { false, true })
        {
            var w = Variable.Parameter(new Tensor(Enumerable.Range(1, 67).Select(i => i * 0.01f).ToArray(), 67));
            var optimizer = new Adam([w], lr: 1e-3, weightDecay: decoupled ? 1e-6f : 0f, decoupledWeightDecay: decoupled);
            var active = new Tensor(Enumerable.Repeat(1e-3f, 67).ToArray(), 67);
            var tiny = new Tensor(Enumerable.Repeat(1e-20f, 67).ToArray(), 67);
            var none = Tensor.Zeros(67);
            for (int i = 0; i < 5; i++) Step(optimizer, w, active);
            Step(optimizer, w, tiny); // g² = 1e-40 would be subnormal in v
            for (int i = 0; i < 1000; i++) Step(optimizer, w, none);
            Assert.Equal(0, Subnormals(w.Value.Span));
            foreach (var (name, state) in optimizer.StateTensors())
                Assert.True(Subnormals(state.Span) == 0, $"{name} holds {Subnormals(state.Span)} subnormal values");
            // The first moment decayed through the subnormal range and was flushed to exactly zero.
            Assert.All(optimizer.StateTensors().First(s => s.Name.EndsWith("exp_avg")).Tensor.ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void AThousandSgdMomentumStepsWithoutGradientLeaveNoSubnormalParameterOrState()
    {
        var w = Variable.Parameter(new Tensor(Enumerable.Range(1, 35).Select(i => i * 0.1f).ToArray(), 35));
        var optimizer = new Sgd([w], lr: 0.01, momentum: 0.9f);
        var active = new Tensor(Enumerable.Repeat(1e-3f, 35).ToArray(), 35);
        for (int i = 0; i < 3; i++) Step(optimizer, w, active);
        var none = Tensor.Zeros(35);
        for (int i = 0; i < 1000; i++) Step(optimizer, w, none);
        Assert.Equal(0, Subnormals(w.Value.Span));
        foreach (var (name, state) in optimizer.StateTensors())
        {
            Assert.True(Subnormals(state.Span) == 0, $"{name} holds {Subnormals(state.Span)} subnormal values");
            Assert.All(state.ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void FlushingKeepsNormalValuesNaNAndInfinitiesAndIsTheSameAtEveryWidth()
    {
        float[] p0 = [1f, -2f, 1e-37f, -1e-37f, 2e-38f, float.NaN, float.PositiveInfinity, 0f, -0f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f];
        float[] got = Sweeps.EveryWidth.SameBits("sgd flush", () =>
        {
            var p = (float[])p0.Clone();
            var buf = p0.Select(v => v * 1e-2f).ToArray();
            OptimizerKernels.SgdStep(p, new float[p.Length], buf, 0f, 0.5f, 0f, 0f, false, false);
            return Sweeps.EveryWidth.Join(p, buf);
        });
        int n = p0.Length;
        Assert.Equal(1e-37f, got[2]); // normal: kept
        Assert.Equal(2e-38f, got[4]);
        Assert.True(float.IsNaN(got[5]));
        // The buffer: 0.5·(p·1e-2) is subnormal for the third to fifth entries, so those become zero.
        Assert.Equal(0.5f * 1e-2f, got[n]);
        Assert.Equal(0f, got[n + 2]);
        Assert.Equal(0f, got[n + 3]);
        Assert.Equal(0f, got[n + 4]);
        Assert.True(float.IsNaN(got[n + 5]));
        Assert.Equal(float.PositiveInfinity, got[n + 6]);
        Assert.Equal(0, Subnormals(got));
    }

    [Fact]
    public void TheCrossEntropyGradientOfAConfidentNetworkHoldsNoSubnormal()
    {
        // A wrong class 86 nats below the label: p ≈ 4.4e-38 is normal, but p/4 (four rows) is not.
        const int rows = 4, classes = 3;
        var logits = new float[rows * classes];
        var labels = new int[rows];
        for (int r = 0; r < rows; r++) logits[r * classes + 1] = -86f;
        var p = new float[logits.Length];
        LossKernels.CrossEntropyForward(logits, labels, p, rows, classes);
        Assert.True(float.IsNormal(p[1]), $"p = {p[1]}");
        Assert.True(float.IsSubnormal(p[1] / rows), "the case no longer reaches the subnormal range");
        var dlogits = new float[logits.Length];
        LossKernels.CrossEntropyBackward(p, labels, 1f, dlogits, rows, classes);
        Assert.Equal(0, Subnormals(dlogits));
        Assert.Equal(0f, dlogits[1]);
        Assert.Equal((p[2] / rows), dlogits[2]); // normal values are untouched
    }
}
