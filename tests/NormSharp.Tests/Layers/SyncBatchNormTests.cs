using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers;

public class SyncBatchNormTests
{
    [Fact]
    public void InOneProcessItIsBatchNormalization()
    {
        var rng = new Rng(5);
        var x = Tensor.Zeros(6, 4);
        rng.FillUniform(x.Span, -2, 2);
        var sync = new SyncBatchNorm(4);
        var plain = new BatchNorm1d(4);
        var a = sync.Forward(Variable.Constant(x)).Value.ToArray();
        var b = plain.Forward(Variable.Constant(x)).Value.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 5);
        for (int c = 0; c < 4; c++) Assert.Equal(plain.RunningVar![c], sync.RunningVar[c], 5);
        sync.Eval();
        plain.Eval();
        Assert.Equal(plain.Forward(Variable.Constant(x)).Value.ToArray(), sync.Forward(Variable.Constant(x)).Value.ToArray());
        Assert.Equal(plain.StateDict().Select(e => e.Name), sync.StateDict().Select(e => e.Name));
    }

    [Fact]
    public void ItsGradientsPassTheFiniteDifferenceCheck()
    {
        var rng = new Rng(6);
        var x = Tensor.Zeros(5, 3, 2);
        rng.FillUniform(x.Span, -1, 1);
        var input = Variable.Parameter(x);
        var layer = new SyncBatchNorm(3);
        rng.FillUniform(layer.Weight!.Value.Span, 0.5f, 1.5f);
        rng.FillUniform(layer.Bias!.Value.Span, -0.5f, 0.5f);
        GradCheck.Check(() => layer.Forward(input), [input, layer.Weight, layer.Bias]);
    }
}
