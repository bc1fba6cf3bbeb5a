using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

/// <summary>A parameter's post-accumulate hook fires once its gradient is final, while the backward pass runs.</summary>
public class GradientHookTests
{
    [Fact]
    public void HooksFireOnceWithTheFinalGradientFromTheLastLayerBackwards()
    {
        var rng = new Rng(4);
        var model = new Mlp([6, 5, 5, 3], NormKind.Layer, rng);
        var x = Tensor.Zeros(4, 6);
        rng.FillUniform(x.Span, -1, 1);
        var named = model.NamedParameters().ToList();
        var fired = new List<string>();
        var atHook = new Dictionary<string, float[]>();
        var handles = named.Select(p => p.Parameter.RegisterPostAccumulateGradHook(v =>
        {
            fired.Add(p.Name);
            atHook[p.Name] = v.Grad!.ToArray();
        })).ToList();

        var loss = F.CrossEntropy(model.Forward(Variable.Constant(x)), [0, 1, 2, 0]);
        loss.Backward();
        Assert.Equal(named.Count, fired.Count);
        Assert.Equal(named.Count, fired.Distinct().Count());
        foreach (var (name, p) in named) Assert.Equal(p.Grad!.ToArray(), atHook[name]);
        // The output layer's gradients are final first; the first layer's last.
        Assert.Equal("layers.6.weight", fired[0].Replace("bias", "weight"));
        Assert.StartsWith("layers.0.", fired[^1]);

        foreach (var h in handles) h.Dispose();
        fired.Clear();
        F.CrossEntropy(model.Forward(Variable.Constant(x)), [0, 1, 2, 0]).Backward();
        Assert.Empty(fired);
    }

    [Fact]
    public void AParameterUsedTwiceFiresAfterItsEarliestUse()
    {
        var w = Variable.Parameter(Tensor.FromValues([0.5f, -0.25f], 2));
        float[]? seen = null;
        w.RegisterPostAccumulateGradHook(v => seen = v.Grad!.ToArray());
        var h = F.Tanh(F.Mul(w, w));
        var loss = F.Sum(F.Mul(h, w));
        loss.Backward();
        Assert.Equal(w.Grad!.ToArray(), seen);
    }
}
