using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

public class AutogradBehaviourTests
{
    [Fact]
    public void GradientsAccumulateAcrossBackwardPassesUntilZeroed()
    {
        var w = Variable.Parameter(Tensor.FromValues([2f], 1));
        var x = Variable.Constant(Tensor.FromValues([3f], 1));
        F.Sum(F.Mul(w, x)).Backward();
        Assert.Equal(3f, w.Grad![0]);
        F.Sum(F.Mul(w, x)).Backward();
        Assert.Equal(6f, w.Grad![0]);
        w.ZeroGrad();
        F.Sum(F.Mul(w, x)).Backward();
        Assert.Equal(3f, w.Grad![0]);
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        var w = Variable.Parameter(Tensor.FromValues([2f], 1));
        Tape.Current.Reset();
        using (GradMode.NoGrad())
        {
            var y = F.Sum(F.Mul(w, w));
            Assert.Equal(4f, y.Item());
            Assert.Throws<NormSharpException>(() => y.Backward());
        }
        Assert.Equal(0, Tape.Current.RecordedCount);
    }

    [Fact]
    public void BackwardNeedsAScalar()
    {
        var w = Variable.Parameter(Tensor.FromValues([1f, 2f], 2));
        var y = F.Mul(w, w);
        var e = Assert.Throws<ShapeMismatchException>(() => y.Backward());
        Assert.Contains("[2]", e.Message);
    }

    [Fact]
    public void UsingAStepsIntermediateAfterTheNextStepBeganIsAnError()
    {
        var w = Variable.Parameter(Tensor.FromValues([1f, 2f], 2));
        var h = F.Tanh(w);
        F.Sum(h).Backward();
        F.Sum(F.Tanh(w)).Backward(); // the next step starts and recycles h's memory
        // h's object may have been recycled into the new step, but a variable from an ended generation must not be accepted silently.
        var stale = F.Tanh(w);
        F.Sum(stale).Backward();
        Assert.Throws<StaleVariableException>(() => F.Sum(stale).Backward());
    }

    [Fact]
    public void ASteadyStateTrainingStepAllocatesAlmostNothing()
    {
        var rng = new Rng(1);
        var model = new Mlp([32, 64, 64, 10], NormKind.Layer, rng);
        var opt = new NormSharp.Optimizers.Adam(model.Parameters(), 1e-3);
        var x = Variable.Constant(Tensor.Zeros(8, 32));
        rng.FillUniform(x.Value.Span, 0, 1);
        int[] labels = [1, 2, 3, 4, 5, 6, 7, 8];
        void Step()
        {
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(x), labels);
            loss.Backward();
            opt.Step();
        }
        for (int i = 0; i < 50; i++) Step();
        const int Steps = 200;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Steps; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / Steps;
        Assert.True(perStep < 1024, $"a training step allocated {perStep} bytes");
    }

    [Fact]
    public void ShapeErrorsNameTheOperationAndShapes()
    {
        var x = Variable.Constant(Tensor.Zeros(2, 3));
        var w = Variable.Parameter(Tensor.Zeros(4, 5));
        var e = Assert.Throws<ShapeMismatchException>(() => F.Linear(x, w));
        Assert.Contains("Linear", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        var e2 = Assert.Throws<ShapeMismatchException>(() => F.LayerNorm(x, [4]));
        Assert.Contains("[4]", e2.Message);
        Assert.Contains("[2, 3]", e2.Message);
        Assert.Throws<InvalidValueException>(() => F.LayerNorm(x, [3], eps: -1f));
        var wrongWeight = Variable.Parameter(Tensor.Zeros(7));
        var e3 = Assert.Throws<ShapeMismatchException>(() => F.LayerNorm(x, [3], wrongWeight));
        Assert.Contains("7", e3.Message);
    }
}
