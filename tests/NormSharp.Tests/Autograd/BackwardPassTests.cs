using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

/// <summary>Backward passes with PyTorch's semantics: a graph is freed unless retained, and a second pass says so.</summary>
public class BackwardPassTests
{
    private static Variable Param(params float[] v) => Variable.Parameter(Tensor.FromValues(v, v.Length));

    [Fact]
    public void TwoLossesOfOneGraphNeedRetainGraphAndTheErrorSaysSo()
    {
        var w = Param(1f, 2f);
        var h = F.Tanh(w);
        var l1 = F.Sum(h);
        var l2 = F.Sum(F.Mul(h, h));
        l1.Backward();
        var e = Assert.Throws<NormSharpException>(() => l2.Backward());
        Assert.Contains("retainGraph", e.Message);
        Assert.Contains("already freed", e.Message);
    }

    [Fact]
    public void BackwardTwiceOnOneLossSaysTheGraphWasFreed()
    {
        var w = Param(1f, 2f);
        var loss = F.Sum(F.Tanh(w));
        loss.Backward();
        var e = Assert.Throws<NormSharpException>(() => loss.Backward());
        Assert.Contains("already freed", e.Message);
    }

    [Fact]
    public void RetainedGraphAccumulatesTheSumOfBothLossesGradients()
    {
        var w = Param(0.3f, -0.7f);
        var h = F.Tanh(w);
        var l1 = F.Sum(h);
        var l2 = F.Sum(F.Mul(h, h));
        l1.Backward(retainGraph: true);
        l2.Backward();
        float[] twoPasses = w.Grad!.ToArray();

        var w2 = Param(0.3f, -0.7f);
        var h2 = F.Tanh(w2);
        F.Add(F.Sum(h2), F.Sum(F.Mul(h2, h2))).Backward();
        float[] onePass = w2.Grad!.ToArray();
        for (int i = 0; i < 2; i++) Assert.Equal(onePass[i], twoPasses[i], 5);
    }

    [Fact]
    public void RetainedGraphGivesTheSameGradientOnASecondPassOverTheSameLoss()
    {
        var w = Param(0.3f, -0.7f);
        var loss = F.Sum(F.Mul(F.Tanh(w), F.Tanh(w)));
        loss.Backward(retainGraph: true);
        float[] first = w.Grad!.ToArray();
        w.ZeroGrad();
        loss.Backward();
        Assert.Equal(first, w.Grad!.ToArray());
    }

    [Fact]
    public void ANonScalarBackwardTakesAnExplicitGradient()
    {
        var w = Param(1f, 2f, 3f);
        var y = F.Mul(w, w);
        y.Backward(Tensor.FromValues([1f, 0f, 2f], 3));
        Assert.Equal([2f, 0f, 12f], w.Grad!.ToArray());
        var w2 = Param(1f, 2f);
        var e = Assert.Throws<ShapeMismatchException>(() => F.Mul(w2, w2).Backward(Tensor.Zeros(3)));
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void TwoForwardPassesSummedTrainBothBranches()
    {
        var w = Param(0.5f);
        var a = F.Sum(F.Mul(w, Variable.Constant(Tensor.FromValues([2f], 1))));
        var b = F.Sum(F.Mul(w, Variable.Constant(Tensor.FromValues([3f], 1)))); // a separate forward pass
        F.Add(a, b).Backward();
        Assert.Equal(5f, w.Grad![0]);
    }
}
