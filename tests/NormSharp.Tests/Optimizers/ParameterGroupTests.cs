using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Optimizers;

public class ParameterGroupTests
{
    [Fact]
    public void AnOptimizerWithoutParametersIsAnError()
    {
        Assert.Contains("no parameters", Assert.Throws<InvalidValueException>(() => new Adam(Array.Empty<Variable>())).Message);
        Assert.Throws<InvalidValueException>(() => new AdamW(Array.Empty<Variable>()));
        Assert.Throws<InvalidValueException>(() => new Sgd(Array.Empty<Variable>(), 0.1));
        Assert.Throws<InvalidValueException>(() => new Adam(Array.Empty<ParameterGroup>()));
    }

    [Fact]
    public void AParameterListedTwiceIsAnError()
    {
        var p = Variable.Parameter(Tensor.Zeros(2));
        Assert.Contains("more than once", Assert.Throws<InvalidValueException>(() => new Adam([p, p])).Message);
        Assert.Throws<InvalidValueException>(() => new Sgd([new ParameterGroup([p]), new ParameterGroup([p])], 0.1));
    }

    [Fact]
    public void DecayWeightsOnlyLeavesNormsAndBiasesUndecayed()
    {
        var model = new Mlp([6, 5, 3], NormKind.Layer, new Rng(1));
        var groups = ParameterGroups.DecayWeightsOnly(model, 0.1);
        Assert.All(groups[0].Parameters, p => Assert.Equal(2, p.Value.Rank));
        Assert.All(groups[1].Parameters, p => Assert.Equal(1, p.Value.Rank));
        Assert.Equal(model.Parameters().Count, groups[0].Parameters.Count + groups[1].Parameters.Count);
        var optimizer = new AdamW(groups, lr: 0.5);
        Assert.Equal(0.1, optimizer.Groups[0].WeightDecay);
        Assert.Equal(0.0, optimizer.Groups[1].WeightDecay);
        // With zero gradients, AdamW moves a parameter only through its weight decay.
        var before = model.Parameters().Select(p => p.Value.ToArray()).ToList();
        optimizer.ZeroGrad();
        F.Sum(F.Scale(model.Forward(Variable.Constant(Tensor.Zeros(2, 6))), 0f)).Backward();
        optimizer.Step();
        foreach (var (p, old) in model.Parameters().Zip(before))
        {
            bool decays = p.Value.Rank >= 2;
            Assert.Equal(decays, !p.Value.ToArray().SequenceEqual(old));
        }
        Assert.Throws<InvalidValueException>(() => new AdamW(groups));
    }

    [Fact]
    public void EachGroupStepsWithItsOwnLearningRate()
    {
        var a = Variable.Parameter(Tensor.FromValues([1f], 1));
        var b = Variable.Parameter(Tensor.FromValues([1f], 1));
        var optimizer = new Sgd([new ParameterGroup([a], learningRate: 0.5), new ParameterGroup([b])], lr: 0.1);
        optimizer.ZeroGrad();
        F.Sum(F.Add(a, b)).Backward();
        optimizer.Step();
        Assert.Equal(0.5f, a.Value[0], 6);
        Assert.Equal(0.9f, b.Value[0], 6);
        Assert.Equal([a, b], optimizer.Parameters);
        Assert.Contains(optimizer.StateScalars().Keys, k => k == "step");
        Assert.Throws<InvalidValueException>(() => optimizer.Groups[0].LearningRate = double.NaN);
    }
}
