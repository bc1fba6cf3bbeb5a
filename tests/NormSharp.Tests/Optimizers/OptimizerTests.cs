using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Optimizers;

public class OptimizerTests
{
    [Fact]
    public void SchedulesFollowTheirFormulas()
    {
        Assert.Equal(1.0, LearningRateSchedule.Constant.Factor(1000));
        var step = new StepSchedule(10, 0.5);
        Assert.Equal(1.0, step.Factor(9));
        Assert.Equal(0.25, step.Factor(20));
        var cosine = new CosineSchedule(100);
        Assert.Equal(1.0, cosine.Factor(0), 12);
        Assert.Equal(0.5, cosine.Factor(50), 12);
        Assert.Equal(0.0, cosine.Factor(100), 12);
        var warm = new WarmupSchedule(4, LearningRateSchedule.Constant);
        Assert.Equal([0.25, 0.5, 0.75, 1.0, 1.0], Enumerable.Range(0, 5).Select(i => warm.Factor(i)));
        Assert.Equal(0.003, warm.At(0.003, 10), 12);
    }

    [Fact]
    public void GlobalNormClippingScalesAllGradientsTogether()
    {
        var a = Variable.Parameter(Tensor.FromValues([3f], 1));
        var b = Variable.Parameter(Tensor.FromValues([0f], 1));
        F.Sum(F.Add(F.Scale(a, 3f), F.Scale(b, 4f))).Backward(); // grads 3 and 4: norm 5
        double norm = GradientClipping.ClipGlobalNorm([a, b], 1.0);
        Assert.Equal(5.0, norm, 6);
        Assert.Equal(0.6f, a.Grad![0], 5);
        Assert.Equal(0.8f, b.Grad![0], 5);
        Assert.Throws<InvalidValueException>(() => GradientClipping.ClipGlobalNorm([a], 0));
    }

    [Fact]
    public void ParametersWithoutAGradientAreLeftAlone()
    {
        var used = Variable.Parameter(Tensor.FromValues([1f], 1));
        var unused = Variable.Parameter(Tensor.FromValues([1f], 1));
        var opt = new Adam([used, unused], 0.1);
        opt.ZeroGrad();
        F.Sum(F.Mul(used, used)).Backward();
        opt.Step();
        Assert.Equal(1f, unused.Value[0]);
        Assert.Equal(0.9f, used.Value[0], 5);
        Assert.Equal(1, opt.StateScalars()["state.0.step"]);
        Assert.Equal(0, opt.StateScalars()["state.1.step"]);
    }

    [Fact]
    public void SgdMatchesAHandComputedStepThroughTheOptimizerClass()
    {
        var p = Variable.Parameter(Tensor.FromValues([2f], 1));
        var opt = new Sgd([p], 0.1, momentum: 0.5f);
        for (int i = 0; i < 2; i++)
        {
            opt.ZeroGrad();
            F.Sum(F.Mul(p, p)).Backward(); // grad 2p
            opt.Step();
        }
        // step 1: g = 4, buf = 4, p = 1.6; step 2: g = 3.2, buf = 0.5·4 + 3.2 = 5.2, p = 1.6 − 0.52 = 1.08
        Assert.Equal(1.08f, p.Value[0], 5);
    }

    [Fact]
    public void BadHyperparametersAreRejectedByName()
    {
        var p = Variable.Parameter(Tensor.Zeros(1));
        Assert.Contains("beta1", Assert.Throws<InvalidValueException>(() => new Adam([p], beta1: 1f)).Message);
        Assert.Throws<InvalidValueException>(() => new Sgd([p], -1));
        Assert.Throws<InvalidValueException>(() => new Sgd([p], 0.1, nesterov: true));
        Assert.Throws<InvalidValueException>(() => new Adam([Variable.Constant(Tensor.Zeros(1))]));
    }
}
