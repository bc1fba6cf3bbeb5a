using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

public class SubnormalCensusTests
{
    private const float SmallestNormal = 1.17549435e-38f; // 2^-126

    [Fact]
    public void CountsNonzeroValuesBelowTheSmallestNormalFloatOnly()
    {
        float[] values =
        [
            0f, -0f, float.Epsilon, -1e-40f, 1e-39f, // zeros are not subnormal; the other three are
            SmallestNormal, -SmallestNormal, 1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
        ];
        Assert.Equal(3, SubnormalCensus.Count(values));
        Assert.Equal(0, SubnormalCensus.Count([]));
    }

    [Fact]
    public void CountsParametersGradientsAndOptimizerStateApart()
    {
        var rng = new Rng(4);
        var model = new Linear(6, 3, rng);
        var adam = new Adam(model.Parameters(), 1e-3);
        var x = Variable.Constant(Tensor.Zeros(2, 6));
        rng.FillUniform(x.Value.Span, -1f, 1f);
        adam.ZeroGrad();
        F.CrossEntropy(model.Forward(x), [0, 2]).Backward();
        adam.Step();
        var before = SubnormalCensus.Of(model, adam);

        var weight = model.Parameters()[0];
        weight.Value.Span[0] = 1e-39f;
        weight.Grad!.Span[1] = -1e-41f;
        adam.StateTensors().First().Tensor.Span[2] = float.Epsilon;
        adam.StateTensors().Last().Tensor.Span[0] = 3e-42f;

        var after = SubnormalCensus.Of(model, adam);
        Assert.Equal(before.Parameters + 1, after.Parameters);
        Assert.Equal(before.Gradients + 1, after.Gradients);
        Assert.Equal(before.OptimizerState + 2, after.OptimizerState);
        Assert.Equal(before.Total + 4, after.Total);
        // Without the optimizer only the model is counted.
        Assert.Equal(0, SubnormalCensus.Of(model).OptimizerState);
    }
}
