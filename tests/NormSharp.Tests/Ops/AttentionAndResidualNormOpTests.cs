using NormSharp.Autograd;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Gradient checks of the fused attention and residual-normalization operations, and their agreement with the unfused compositions.</summary>
public class AttentionAndResidualNormOpTests
{
    /// <summary>softmax(q·kᵀ·scale + mask)·v from the general operations.</summary>
    private static Variable Composed(Variable q, Variable k, Variable v, bool causal, float scale)
    {
        var scores = F.MatMul(q, k, transposeB: true) * scale;
        if (causal)
        {
            int l = q.Shape[^2], s = k.Shape[^2];
            var mask = Tensor.Zeros(l, s);
            for (int i = 0; i < l; i++) for (int j = i + 1; j < s; j++) mask[i, j] = 1f;
            scores = F.MaskedFill(scores, mask, float.NegativeInfinity);
        }
        return F.MatMul(F.Softmax(scores, -1), v);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ScaledDotProductAttentionEqualsTheComposedOperationsAndPassesGradCheck(bool causal)
    {
        var rng = new Rng(1);
        var q = Param(rng, [2, 3, 5, 4]);
        var k = Param(rng, [2, 3, 6, 4]);
        var v = Param(rng, [2, 3, 6, 4]);
        Tensor fused, composed;
        using (GradMode.NoGrad())
        {
            fused = F.ScaledDotProductAttention(q, k, v, causal).Value;
            composed = Composed(q, k, v, causal, 0.5f).Value;
        }
        for (int i = 0; i < fused.Length; i++) Assert.True(Math.Abs(composed[i] - fused[i]) <= 1e-5, $"element {i}: {fused[i]} against {composed[i]}");
        AssertGradients(() => F.ScaledDotProductAttention(q, k, v, causal), q, k, v);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void PackedSelfAttentionPassesGradCheckInEitherLayout(bool causal, bool batchFirst)
    {
        var rng = new Rng(2);
        var qkv = Param(rng, batchFirst ? [2, 5, 3 * 6] : [5, 2, 3 * 6]);
        AssertGradients(() => F.PackedSelfAttention(qkv, numHeads: 2, causal, batchFirst), qkv);
    }

    [Fact]
    public void PackedSelfAttentionEqualsSplittingIntoHeadsByHand()
    {
        var rng = new Rng(3);
        var qkv = Param(rng, [2, 7, 3 * 8]);
        using var _ = GradMode.NoGrad();
        var fused = F.PackedSelfAttention(qkv, 2, isCausal: true).Value;
        Variable Heads(int part) => F.Permute(F.Reshape(F.Narrow(qkv, 2, part * 8, 8), 2, 7, 2, 4), 0, 2, 1, 3);
        var byHand = F.Reshape(F.Permute(Composed(Heads(0), Heads(1), Heads(2), true, 0.5f), 0, 2, 1, 3), 2, 7, 8).Value;
        for (int i = 0; i < fused.Length; i++) Assert.True(Math.Abs(byHand[i] - fused[i]) <= 1e-5, $"element {i}: {fused[i]} against {byHand[i]}");
    }

    [Fact]
    public void AttentionDropoutPassesGradCheckWithItsMaskFixed()
    {
        var rng = new Rng(4);
        var qkv = Param(rng, [2, 6, 3 * 4]);
        // A fresh generator per call: the same seed, hence the same mask, for every evaluation of the probe.
        AssertGradients(() => F.PackedSelfAttention(qkv, 2, isCausal: true, dropoutP: 0.3f, rng: new Rng(9)), qkv);
    }

    [Fact]
    public void AttentionDropoutKeepsTheExpectedOutput()
    {
        var rng = new Rng(5);
        var qkv = Param(rng, [1, 8, 3 * 4]);
        using var _ = GradMode.NoGrad();
        var plain = F.PackedSelfAttention(qkv, 1, isCausal: true).Value.ToArray();
        var mean = new double[plain.Length];
        var draws = new Rng(6);
        const int N = 4000;
        for (int t = 0; t < N; t++)
        {
            var y = F.PackedSelfAttention(qkv, 1, isCausal: true, dropoutP: 0.5f, rng: draws).Value.Span;
            for (int i = 0; i < mean.Length; i++) mean[i] += y[i] / N;
        }
        for (int i = 0; i < mean.Length; i++) Assert.True(Math.Abs(mean[i] - plain[i]) < 0.05, $"element {i}: mean {mean[i]} against {plain[i]}");
    }

    [Fact]
    public void AttentionArgumentsAreCheckedWithClearMessages()
    {
        var rng = new Rng(7);
        var qkv = Param(rng, [2, 5, 3 * 6]);
        Assert.Contains("divisible by 4 heads", Assert.Throws<NormSharp.Errors.ShapeMismatchException>(() => F.PackedSelfAttention(qkv, 4)).Message);
        Assert.Contains("random generator", Assert.Throws<NormSharp.Errors.InvalidValueException>(() => F.PackedSelfAttention(qkv, 2, dropoutP: 0.1f)).Message);
        Assert.Throws<NormSharp.Errors.ShapeMismatchException>(() => F.ScaledDotProductAttention(Param(rng, [2, 3, 4]), Param(rng, [2, 3, 5]), Param(rng, [2, 3, 5])));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AddNormEqualsNormOfTheSumAndPassesGradCheck(bool centered)
    {
        var rng = new Rng(8);
        var x = Param(rng, [3, 4, 5]);
        var r = Param(rng, [3, 4, 5]);
        var w = Param(rng, [5], 0.5f, 1.5f);
        var b = Param(rng, [5]);
        Variable Fused() => centered ? F.AddLayerNorm(x, r, [5], w, b) : F.AddRmsNorm(x, r, [5], w);
        using (GradMode.NoGrad())
        {
            var fused = Fused().Value;
            var plain = (centered ? F.LayerNorm(x + r, [5], w, b) : F.RmsNorm(x + r, [5], w)).Value;
            Assert.Equal(plain.ToArray(), fused.ToArray());
        }
        AssertGradients(Fused, centered ? [x, r, w, b] : [x, r, w]);
        // The same variable on both sides of the sum.
        AssertGradients(() => centered ? F.AddLayerNorm(x, x, [5], w, b) : F.AddRmsNorm(x, x, [5], w), x);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AddNormWithSumPassesGradCheckWhenTheSumIsUsedAgain(bool centered)
    {
        var rng = new Rng(9);
        var x = Param(rng, [4, 6]);
        var r = Param(rng, [4, 6]);
        var w = Param(rng, [6], 0.5f, 1.5f);
        var b = Param(rng, [6]);
        Variable Block()
        {
            var (h, u) = centered ? F.AddLayerNormWithSum(x, r, [6], w, b) : F.AddRmsNormWithSum(x, r, [6], w);
            // The Pre-LN pattern: the stream continues from h, the sublayer reads u.
            return h + F.Tanh(u) * h;
        }
        AssertGradients(Block, centered ? [x, r, w, b] : [x, r, w]);
    }
}
