using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

/// <summary>A run measured in steps: the StepLimit part ends the fit at exactly that many steps, resumed or not.</summary>
public class StepLimitTests
{
    private static Trainer<Tensor> NewTrainer(Linear model) =>
        new(model, new Sgd(model.Parameters(), 0.1), (m, x) => F.Mean(F.Pow(m.Forward(Variable.Constant(x)), 2f)));

    private static List<Tensor> Batches(int n) => Enumerable.Range(0, n).Select(i => Tensor.Randn(new Rng((ulong)i + 1), 4, 3)).ToList();

    [Fact]
    public void TheFitStopsAtTheLimitInTheMiddleOfAnEpoch()
    {
        var trainer = NewTrainer(new Linear(3, 2, new Rng(1)));
        var limit = new StepLimit(7);
        trainer.Add(limit);
        var result = trainer.Fit(Batches(5), epochs: 10);
        Assert.Equal(7, result.Steps);
        Assert.Equal(limit.Reason, result.StopReason);
        Assert.False(result.Diverged);
    }

    [Fact]
    public void AResumedRunPastItsLimitTakesNoStep()
    {
        var model = new Linear(3, 2, new Rng(2));
        var first = NewTrainer(model);
        first.Add(new StepLimit(4));
        first.Fit(Batches(5), epochs: 1);
        var checkpoint = first.CreateCheckpoint();

        var again = NewTrainer(model);
        again.Add(new StepLimit(4));
        again.LoadCheckpoint(checkpoint, "memory");
        var weights = model.Weight.Value.ToArray();
        var result = again.Fit(Batches(5), epochs: 3);
        Assert.Equal(4, result.Steps);
        Assert.Equal(weights, model.Weight.Value.ToArray());
    }

    [Fact]
    public void ALimitMustBePositive() => Assert.Throws<InvalidValueException>(() => new StepLimit(0));
}
