using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Layers.Transformer;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Layers.Transformer;

/// <summary>Multi-head attention and Transformer blocks: PyTorch's names, gradients, layouts and argument checks.</summary>
public class TransformerLayerTests
{
    [Fact]
    public void TheEncoderLayersStateDictHasPyTorchsKeysInPyTorchsOrder()
    {
        var layer = new TransformerEncoderLayer(16, 4, new Rng(1), dimFeedforward: 32);
        Assert.Equal(
            ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
             "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"],
            layer.StateDict().Select(e => e.Name));
        Assert.Equal([48, 16], layer.SelfAttn.InProjWeight.Shape.ToArray());
        var rms = new TransformerEncoderLayer(16, 4, new Rng(1), dimFeedforward: 32, norm: NormKind.Rms, bias: false);
        Assert.Equal(["self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight", "linear2.weight", "norm1.weight", "norm2.weight"],
            rms.StateDict().Select(e => e.Name));
        var none = new TransformerEncoderLayer(16, 4, new Rng(1), dimFeedforward: 32, norm: NormKind.None);
        Assert.DoesNotContain(none.StateDict(), e => e.Name.StartsWith("norm", StringComparison.Ordinal));
    }

    [Fact]
    public void MultiheadAttentionStartsAsPyTorchDoes()
    {
        var mha = new MultiheadAttention(64, 4, new Rng(2));
        Assert.All(mha.InProjBias!.Value.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(mha.OutProj.Bias!.Value.ToArray(), v => Assert.Equal(0f, v));
        float bound = MathF.Sqrt(6f / (64 + 3 * 64));
        Assert.All(mha.InProjWeight.Value.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.Contains("embed_dim=64, num_heads=4", mha.ToString());
    }

    public static TheoryData<bool, NormKind, bool> BlockCases() => new()
    {
        { true, NormKind.Layer, true }, { false, NormKind.Layer, true }, { true, NormKind.Rms, false },
        { false, NormKind.Rms, true }, { true, NormKind.None, true }, { false, NormKind.None, false },
    };

    [Theory]
    [MemberData(nameof(BlockCases))]
    public void EveryBlockFormPassesGradCheck(bool normFirst, NormKind norm, bool causal)
    {
        var rng = new Rng(3);
        var block = new TransformerEncoderLayer(8, 2, rng, dimFeedforward: 12, dropout: 0f, activation: F.Activation.GeluTanh,
            batchFirst: true, normFirst: normFirst, norm: norm);
        var x = Param(rng, [2, 5, 8]);
        // Norm gains and biases away from 1 and 0, so their gradients are exercised in general position.
        foreach (var (name, p) in block.NamedParameters())
            if (name.StartsWith("norm", StringComparison.Ordinal)) rng.FillUniform(p.Value.Span, 0.5f, 1.5f);
        var inputs = new List<Variable> { x };
        inputs.AddRange(block.Parameters());
        AssertGradients(() => block.Forward(x, causal), [.. inputs]);
    }

    [Fact]
    public void SequenceFirstAndBatchFirstLayoutsGiveTheSameResults()
    {
        var first = new TransformerEncoderLayer(12, 3, new Rng(4), dimFeedforward: 20, dropout: 0f, batchFirst: true, normFirst: true);
        var second = new TransformerEncoderLayer(12, 3, new Rng(5), dimFeedforward: 20, dropout: 0f, batchFirst: false, normFirst: true);
        second.LoadStateDict(first.StateDict());
        var rng = new Rng(6);
        var x = Param(rng, [3, 7, 12]);
        var y1 = first.Forward(x, isCausal: true);
        var y2 = F.SwapFirstTwoDims(second.Forward(F.SwapFirstTwoDims(x), isCausal: true));
        AssertClose(y1.Value.ToArray().Select(v => (double)v).ToArray(), y2.Value.Span, 1e-6);
    }

    [Fact]
    public void CrossAttentionEqualsProjectingAndAttendingByHand()
    {
        var rng = new Rng(7);
        var mha = new MultiheadAttention(8, 2, rng, batchFirst: true);
        var q = Param(rng, [2, 3, 8]);
        var kv = Param(rng, [2, 5, 8]);
        using var _ = GradMode.NoGrad();
        var fused = mha.Forward(q, kv, kv).Value;
        // Self-attention over the keys' own positions is the same module path with query = key.
        var self = mha.Forward(kv, kv, kv).Value;
        var selfPacked = mha.Forward(kv, isCausal: false).Value;
        AssertClose(self.ToArray().Select(v => (double)v).ToArray(), selfPacked.Span, 1e-6);
        Assert.Equal([2, 3, 8], fused.Shape.ToArray());
    }

    [Fact]
    public void CrossAttentionPassesGradCheck()
    {
        var rng = new Rng(8);
        var mha = new MultiheadAttention(6, 3, rng, batchFirst: false);
        var q = Param(rng, [4, 2, 6]);
        var kv = Param(rng, [3, 2, 6]);
        AssertGradients(() => mha.Forward(q, kv, kv, isCausal: true), [q, kv, .. mha.Parameters()]);
    }

    [Fact]
    public void DropoutIsActiveInTrainingOnlyAndRepeatsWithTheSeed()
    {
        TransformerEncoderLayer Make() => new(8, 2, new Rng(9), dimFeedforward: 16, dropout: 0.5f, batchFirst: true);
        var x = Variable.Constant(Tensor.Randn(new Rng(10), 2, 6, 8));
        var a = Make();
        var b = Make();
        using var _ = GradMode.NoGrad();
        var ya = a.Forward(x).Value.ToArray();
        Assert.Equal(ya, b.Forward(x).Value.ToArray());
        Assert.NotEqual(ya, a.Forward(x).Value.ToArray());
        a.Eval();
        var e1 = a.Forward(x).Value.ToArray();
        Assert.Equal(e1, a.Forward(x).Value.ToArray());
    }

    [Fact]
    public void BadSettingsAreRefusedWithTheirNames()
    {
        var rng = new Rng(11);
        Assert.Contains("not divisible by num_heads 3", Assert.Throws<InvalidValueException>(() => new MultiheadAttention(16, 3, rng)).Message);
        Assert.Contains("batch normalization is not offered", Assert.Throws<InvalidValueException>(() => new TransformerEncoderLayer(16, 4, rng, norm: NormKind.Batch)).Message);
        var mha = new MultiheadAttention(16, 4, rng, batchFirst: true);
        Assert.Contains("[B, T, 16]", Assert.Throws<ShapeMismatchException>(() => mha.Forward(Variable.Constant(Tensor.Zeros(2, 3, 8)))).Message);
    }
}
