using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

/// <summary>Every differentiable operation's backward against central finite differences.</summary>
public class GradientCheckTests
{
    private static Variable Param(Rng rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return Variable.Parameter(t);
    }

    private static void AssertPasses(Func<Variable> forward, params Variable[] inputs)
    {
        var worst = GradCheck.Run(forward, inputs);
        Assert.True(worst.Error <= 1.0, $"input {worst.Input} element {worst.Element}: analytic {worst.Analytic}, numeric {worst.Numeric} (error {worst.Error:F2})");
    }

    [Fact]
    public void Add_WithBroadcastBias()
    {
        var rng = new Rng(1);
        var a = Param(rng, 3, 5);
        var b = Param(rng, 5);
        AssertPasses(() => F.Add(a, b), a, b);
    }

    [Fact]
    public void Sub_SameShapeAndBroadcast()
    {
        var rng = new Rng(2);
        var a = Param(rng, 4, 3);
        var b = Param(rng, 4, 3);
        var c = Param(rng, 3);
        AssertPasses(() => F.Sub(a, b), a, b);
        AssertPasses(() => F.Sub(a, c), a, c);
    }

    [Fact]
    public void Mul_Scale_Sum_Mean()
    {
        var rng = new Rng(3);
        var a = Param(rng, 2, 7);
        var b = Param(rng, 2, 7);
        AssertPasses(() => F.Mul(a, b), a, b);
        AssertPasses(() => F.Scale(a, -2.5f), a);
        AssertPasses(() => F.Sum(a), a);
        AssertPasses(() => F.Mean(F.Mul(a, a)), a);
    }

    [Fact]
    public void AVariableUsedTwiceAccumulatesBothPaths()
    {
        var rng = new Rng(4);
        var a = Param(rng, 3, 4);
        AssertPasses(() => F.Add(F.Tanh(a), F.Mul(a, a)), a);
    }

    [Theory]
    [InlineData(F.Activation.Tanh)]
    [InlineData(F.Activation.Sigmoid)]
    [InlineData(F.Activation.Gelu)]
    [InlineData(F.Activation.Relu)]
    public void Activations(F.Activation kind)
    {
        var rng = new Rng(5);
        var a = Param(rng, 3, 11);
        // Keep ReLU's inputs away from the kink, where finite differences are meaningless.
        if (kind == F.Activation.Relu)
            foreach (ref float v in a.Value.Span) v = v >= 0 ? v + 0.1f : v - 0.1f;
        AssertPasses(() => F.Activate(a, kind), a);
    }

    [Fact]
    public void Linear_WithAndWithoutBias()
    {
        var rng = new Rng(6);
        var x = Param(rng, 5, 7);
        var w = Param(rng, 3, 7);
        var b = Param(rng, 3);
        AssertPasses(() => F.Linear(x, w, b), x, w, b);
        AssertPasses(() => F.Linear(x, w), x, w);
    }

    [Fact]
    public void MatMul_PlainAndTransposed()
    {
        var rng = new Rng(7);
        var a = Param(rng, 4, 6);
        var b = Param(rng, 6, 3);
        var bt = Param(rng, 3, 6);
        AssertPasses(() => F.MatMul(a, b), a, b);
        AssertPasses(() => F.MatMul(a, bt, transposeB: true), a, bt);
    }

    [Fact]
    public void LayerNorm_AffineVariantsAndMultiDimShape()
    {
        var rng = new Rng(8);
        var x = Param(rng, 3, 2, 5);
        var w = Param(rng, 2, 5);
        var b = Param(rng, 2, 5);
        AssertPasses(() => F.LayerNorm(x, [2, 5], w, b), x, w, b);
        AssertPasses(() => F.LayerNorm(x, [5], null, null), x);
        var w5 = Param(rng, 5);
        AssertPasses(() => F.LayerNorm(x, [5], w5, null), x, w5);
    }

    [Fact]
    public void RmsNorm_WithAndWithoutWeight()
    {
        var rng = new Rng(9);
        var x = Param(rng, 4, 6);
        var w = Param(rng, 6);
        AssertPasses(() => F.RmsNorm(x, [6], w), x, w);
        AssertPasses(() => F.RmsNorm(x, [6]), x);
    }

    [Fact]
    public void BatchNorm_TrainingAndEvaluation()
    {
        var rng = new Rng(10);
        var x = Param(rng, 6, 3);
        var x3 = Param(rng, 4, 3, 5);
        var w = Param(rng, 3);
        var b = Param(rng, 3);
        AssertPasses(() => F.BatchNorm(x, w, b, null, null, training: true), x, w, b);
        AssertPasses(() => F.BatchNorm(x3, w, b, null, null, training: true), x3, w, b);
        var rm = Tensor.FromValues([0.1f, -0.2f, 0.3f], 3);
        var rv = Tensor.FromValues([0.5f, 1.5f, 2f], 3);
        AssertPasses(() => F.BatchNorm(x, w, b, rm, rv, training: false), x, w, b);
    }

    [Fact]
    public void GroupNorm_Basic()
    {
        var rng = new Rng(11);
        var x = Param(rng, 2, 4, 3);
        var w = Param(rng, 4);
        var b = Param(rng, 4);
        AssertPasses(() => F.GroupNorm(x, 2, w, b), x, w, b);
    }

    [Fact]
    public void SoftmaxAndLogSoftmax()
    {
        var rng = new Rng(12);
        var x = Param(rng, 3, 6);
        AssertPasses(() => F.Softmax(x), x);
        AssertPasses(() => F.LogSoftmax(x), x);
    }

    [Fact]
    public void CrossEntropyAndMse()
    {
        var rng = new Rng(13);
        var x = Param(rng, 4, 5);
        int[] labels = [0, 4, 2, 2];
        AssertPasses(() => F.CrossEntropy(x, labels), x);
        var target = Tensor.Zeros(4, 5);
        rng.FillUniform(target.Span, -1, 1);
        AssertPasses(() => F.Mse(x, target), x);
    }

    [Fact]
    public void WeightNorm()
    {
        var rng = new Rng(14);
        var v = Param(rng, 3, 4);
        var g = Param(rng, 3, 1);
        AssertPasses(() => F.WeightNorm(v, g), v, g);
    }

    [Fact]
    public void DropoutWithAFixedMask()
    {
        var rng = new Rng(15);
        var x = Param(rng, 4, 8);
        // A fresh generator with the same seed per call keeps the mask fixed across the finite differences.
        AssertPasses(() => F.Dropout(x, 0.3f, new Rng(99), training: true), x);
    }

    [Fact]
    public void ReshapeInAComposedGraph()
    {
        var rng = new Rng(16);
        var x = Param(rng, 2, 6);
        var w = Param(rng, 2, 3);
        AssertPasses(() => F.Mul(F.Reshape(x, 4, 3), F.Reshape(F.Add(F.Reshape(x, 4, 3), F.Reshape(x, 4, 3)), 4, 3)), x);
        AssertPasses(() => F.Linear(F.Reshape(x, 4, 3), w), x, w);
    }
}
