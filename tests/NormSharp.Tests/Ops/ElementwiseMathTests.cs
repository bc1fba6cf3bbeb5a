using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Elementwise functions, scalar arithmetic, operators and activations: values against double references, gradients by finite differences.</summary>
public class ElementwiseMathTests
{
    private static double[] Map(Tensor x, Func<double, double> f) => x.ToArray().Select(v => f(v)).ToArray();

    [Fact]
    public void TranscendentalsMatchDoubleReferences()
    {
        var rng = new Rng(1);
        var x = Param(rng, [5, 7], 0.1f, 3f);
        var s = Param(rng, [5, 7], -3f, 3f);
        AssertClose(Map(s.Value, Math.Exp), F.Exp(s).Value.Span, 1e-7);
        AssertClose(Map(x.Value, Math.Log), F.Log(x).Value.Span, 1e-7);
        AssertClose(Map(x.Value, Math.Sqrt), F.Sqrt(x).Value.Span, 1e-7);
        AssertClose(Map(s.Value, Math.Abs), F.Abs(s).Value.Span, 0);
        AssertClose(Map(x.Value, v => Math.Pow(v, 2.5)), F.Pow(x, 2.5f).Value.Span, 1e-7);
        AssertClose(Map(s.Value, v => Math.Clamp(v, -0.5, 1.25)), F.Clamp(s, -0.5f, 1.25f).Value.Span, 0);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    [InlineData(2f)]
    [InlineData(3f)]
    [InlineData(0.5f)]
    [InlineData(-0.5f)]
    [InlineData(-1f)]
    [InlineData(-2f)]
    [InlineData(1.7f)]
    public void PowShortcutsAgreeWithTheGeneralFormula(float p)
    {
        var x = Variable.Parameter(Tensor.FromArray([0.3f, 1.1f, 2.9f, 7.5f]));
        AssertClose(Map(x.Value, v => Math.Pow(v, p)), F.Pow(x, p).Value.Span, 1e-6);
        AssertGradients(() => F.Pow(x, p), x);
    }

    [Fact]
    public void EdgeValuesFollowPyTorch()
    {
        var x = Variable.Constant(Tensor.FromArray([0f, -1f, float.PositiveInfinity, float.NaN]));
        var log = F.Log(x).Value;
        Assert.Equal(float.NegativeInfinity, log[0]);
        Assert.True(float.IsNaN(log[1]));
        Assert.Equal(float.PositiveInfinity, log[2]);
        Assert.True(float.IsNaN(F.Sqrt(x).Value[1]));
        Assert.Equal(0f, F.Exp(Variable.Constant(Tensor.FromArray([float.NegativeInfinity]))).Value[0]);
        Assert.True(float.IsNaN(F.Clamp(x, 0f, 1f).Value[3]));
        // min > max: everything becomes max, as in PyTorch.
        Assert.Equal([1f, 1f, 1f], F.Clamp(Variable.Constant(Tensor.FromArray([-5f, 0f, 5f])), 2f, 1f).Value.ToArray());
    }

    [Fact]
    public void AbsAndClampGradientsAtTheirKinks()
    {
        var x = Variable.Parameter(Tensor.FromArray([-2f, 0f, 0.5f, 1f, 3f]));
        F.Sum(F.Abs(x)).Backward();
        Assert.Equal([-1f, 0f, 1f, 1f, 1f], x.Grad!.ToArray());
        x.ZeroGrad();
        F.Sum(F.Clamp(x, 0f, 1f)).Backward();
        Assert.Equal([0f, 1f, 1f, 1f, 0f], x.Grad!.ToArray()); // bounds are inclusive
        x.ZeroGrad();
        F.Sum(F.Clamp(x, max: 0.5f)).Backward();
        Assert.Equal([1f, 1f, 1f, 0f, 0f], x.Grad!.ToArray());
    }

    [Fact]
    public void ClampNeedsABoundAndNoNaN()
    {
        var x = Variable.Constant(Tensor.Zeros(2));
        Assert.Throws<InvalidValueException>(() => F.Clamp(x));
        Assert.Throws<InvalidValueException>(() => F.Clamp(x, float.NaN, 1f));
    }

    [Fact]
    public void ElementwiseGradients()
    {
        var rng = new Rng(2);
        var pos = Param(rng, [3, 5], 0.5f, 2f);
        var any = Param(rng, [3, 5]);
        var offZero = Distinct(rng, 3, 5);
        foreach (ref float v in offZero.Value.Span) v += 0.025f; // no element at 0
        AssertGradients(() => F.Exp(any), any);
        AssertGradients(() => F.Log(pos), pos);
        AssertGradients(() => F.Sqrt(pos), pos);
        AssertGradients(() => F.Abs(offZero), offZero);
        AssertGradients(() => F.Clamp(offZero, -0.225f, 0.225f), offZero);
        AssertGradients(() => F.Neg(any), any);
    }

    [Fact]
    public void ScalarArithmeticAndItsGradients()
    {
        var rng = new Rng(3);
        var a = Param(rng, [2, 4], 0.5f, 2f);
        var v = a.Value;
        AssertClose(Map(v, x => (float)x + 1.5f), F.Add(a, 1.5f).Value.Span, 0);
        AssertClose(Map(v, x => (float)x - 1.5f), F.Sub(a, 1.5f).Value.Span, 0);
        AssertClose(Map(v, x => 1.5f - (float)x), F.Sub(1.5f, a).Value.Span, 0);
        AssertClose(Map(v, x => (float)x * 3f), F.Mul(a, 3f).Value.Span, 0);
        AssertClose(Map(v, x => (float)x / 3f), F.Div(a, 3f).Value.Span, 0);
        AssertClose(Map(v, x => 3f / (float)x), F.Div(3f, a).Value.Span, 0);
        AssertGradients(() => F.Add(a, 1.5f), a);
        AssertGradients(() => F.Sub(1.5f, a), a);
        AssertGradients(() => F.Mul(a, -2f), a);
        AssertGradients(() => F.Div(a, 3f), a);
        AssertGradients(() => F.Div(3f, a), a);
    }

    [Fact]
    public void OperatorsAreTheNamedFunctions()
    {
        var rng = new Rng(4);
        var a = Param(rng, [3, 4], 0.5f, 2f);
        var b = Param(rng, [4], 0.5f, 2f);
        Assert.Equal(F.Add(a, b).Value.ToArray(), (a + b).Value.ToArray());
        Assert.Equal(F.Sub(a, b).Value.ToArray(), (a - b).Value.ToArray());
        Assert.Equal(F.Mul(a, b).Value.ToArray(), (a * b).Value.ToArray());
        Assert.Equal(F.Div(a, b).Value.ToArray(), (a / b).Value.ToArray());
        Assert.Equal(F.Neg(a).Value.ToArray(), (-a).Value.ToArray());
        Assert.Equal(F.Sub(1f, a).Value.ToArray(), (1f - a).Value.ToArray());
        Assert.Equal(F.Div(2f, a).Value.ToArray(), (2 / a).Value.ToArray());
        Assert.Equal(F.Mul(a, 0.5f).Value.ToArray(), (a * 0.5).Value.ToArray());
        Assert.Equal(F.Mul(a, 0.5f).Value.ToArray(), (0.5 * a).Value.ToArray());
        Assert.Equal(F.Add(a, 2f).Value.ToArray(), (2 + a).Value.ToArray());
        // A composed expression, as a user writes it, differentiates like the functions.
        AssertGradients(() => (a * b - a / 2f + 1 - b) / (b + 0.5), a, b);
    }

    [Fact]
    public void SiluAndTanhGeluMatchTheirDefinitions()
    {
        var rng = new Rng(5);
        var x = Param(rng, [4, 9], -4f, 4f);
        AssertClose(Map(x.Value, v => v / (1 + Math.Exp(-v))), F.Silu(x).Value.Span, 1e-6);
        AssertClose(Map(x.Value, v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))),
            F.Gelu(x, F.GeluApproximation.Tanh).Value.Span, 1e-6);
        // The approximation stays within 1e-3 of the exact GELU.
        var exact = F.Gelu(x).Value.ToArray();
        var approx = F.Gelu(x, F.GeluApproximation.Tanh).Value.ToArray();
        for (int i = 0; i < exact.Length; i++) Assert.True(Math.Abs(exact[i] - approx[i]) < 1e-3);
        AssertGradients(() => F.Silu(x), x);
        AssertGradients(() => F.Gelu(x, F.GeluApproximation.Tanh), x);
    }

    [Fact]
    public void ActivationLayersAndMlpOfferTheNewForms()
    {
        var x = Variable.Constant(Tensor.FromArray([-1f, 0f, 2f]));
        Assert.Equal(F.Silu(x).Value.ToArray(), new SiLU().Forward(x).Value.ToArray());
        Assert.Equal(F.Gelu(x, F.GeluApproximation.Tanh).Value.ToArray(), new Gelu(F.GeluApproximation.Tanh).Forward(x).Value.ToArray());
        Assert.Equal("Gelu(approximate='tanh')", new Gelu(F.GeluApproximation.Tanh).ToString());
        var mlp = new Mlp([3, 4, 2], NormKind.Layer, new Rng(1), F.Activation.Silu);
        Assert.Equal([2, 2], mlp.Forward(Variable.Constant(Tensor.Zeros(2, 3))).Shape.ToArray());
    }

    [Fact]
    public void EmptyTensorsPassThrough()
    {
        var x = Variable.Parameter(Tensor.Zeros(0, 3));
        var y = F.Sum(F.Exp(F.Log(F.Abs(F.Add(F.Mul(x, 2f), 1f)))));
        Assert.Equal(0f, y.Item());
        y.Backward();
        Assert.Equal(0, x.Grad!.Length);
    }
}
