using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers;

public class LayerTests
{
    [Fact]
    public void MlpUsesPyTorchStyleNamesAndPutsTheNormBeforeTheNonlinearity()
    {
        var mlp = new Mlp([784, 1000, 1000, 10], NormKind.Layer, new Rng(1));
        var names = mlp.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias", "layers.4.weight", "layers.4.bias", "layers.6.weight", "layers.6.bias"], names);
        Assert.IsType<LayerNorm>(mlp.Layers.Layers[1]);
        Assert.IsType<ReLU>(mlp.Layers.Layers[2]);
        Assert.IsType<Linear>(mlp.Layers.Layers[^1]);
        Assert.Equal(784L * 1000 + 1000 + 2000 + 1000L * 1000 + 1000 + 2000 + 10010, mlp.ParameterCount());
    }

    [Fact]
    public void BatchNormUsesRunningStatisticsInEvaluationAndDropoutSwitchesOff()
    {
        var bn = new BatchNorm1d(3);
        var x = Tensor.Zeros(8, 3);
        new Rng(2).FillNormal(x.Span, 5, 2);
        bn.Forward(Variable.Constant(x));
        Assert.NotEqual(0f, bn.RunningMean![0]);
        bn.Eval();
        using (GradMode.NoGrad())
        {
            var y = bn.Forward(Variable.Constant(x)).Value;
            // Running statistics moved only 10% of the way, so evaluation output is not standardized.
            Assert.True(Math.Abs(y.ToArray().Average()) > 0.5);
        }
        var drop = new Dropout(0.5f, new Rng(3));
        var ones = Variable.Constant(Tensor.Full(1f, 100));
        Assert.Contains(0f, drop.Forward(ones).Value.ToArray());
        drop.Eval();
        Assert.Same(ones, drop.Forward(ones));
    }

    [Fact]
    public void WeightNormStartsAsTheSameFunctionAsItsPlainLinear()
    {
        var wn = new WeightNormLinear(5, 3, new Rng(7));
        var plain = new Linear(5, 3, new Rng(7));
        var x = Variable.Constant(Tensor.Full(0.5f, 2, 5));
        using var _ = GradMode.NoGrad();
        var a = wn.Forward(x).Value.ToArray();
        var b = plain.Forward(x).Value.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 5);
    }

    [Fact]
    public void InitializationSchemesHaveTheirScale()
    {
        var rng = new Rng(4);
        foreach (var (scheme, expectedStd) in new[] { (InitScheme.PyTorchDefault, Math.Sqrt(1.0 / 3 / 400)), (InitScheme.XavierUniform, Math.Sqrt(2.0 / 800)), (InitScheme.KaimingNormal, Math.Sqrt(2.0 / 400)) })
        {
            var l = new Linear(400, 400, rng, init: scheme);
            var w = l.Weight.Value.ToArray();
            double std = Math.Sqrt(w.Select(v => (double)v * v).Average());
            Assert.InRange(std, 0.95 * expectedStd, 1.05 * expectedStd);
        }
    }

    [Fact]
    public void BadLayerArgumentsNameTheProblem()
    {
        Assert.Throws<InvalidValueException>(() => new Linear(0, 3, new Rng(1)));
        Assert.Throws<InvalidValueException>(() => new LayerNorm(4, eps: -1f));
        Assert.Throws<InvalidValueException>(() => new GroupNorm(3, 4));
        Assert.Throws<InvalidValueException>(() => new Mlp([784], NormKind.Layer, new Rng(1)));
        Assert.Throws<InvalidValueException>(() => NormKinds.Parse("group"));
    }
}
