using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Ops;

/// <summary>Dropout's edge probabilities and statistics.</summary>
public class DropoutTests
{
    [Fact]
    public void DropsAboutPAndKeepsTheMean()
    {
        var x = Variable.Constant(Tensor.Ones(100, 100));
        var y = F.Dropout(x, 0.3f, new Rng(1), training: true).Value.ToArray();
        double dropped = y.Count(v => v == 0f) / (double)y.Length;
        Assert.InRange(dropped, 0.28, 0.32);
        Assert.All(y.Where(v => v != 0f), v => Assert.Equal(1f / 0.7f, v));
        Assert.InRange(y.Average(), 0.97, 1.03);
    }

    [Fact]
    public void EdgeProbabilitiesFollowPyTorch()
    {
        var x = Variable.Parameter(Tensor.FromArray([1f, -2f, 3f]));
        Assert.Same(x, F.Dropout(x, 0f, new Rng(1), training: true));
        Assert.Same(x, F.Dropout(x, 0.5f, new Rng(1), training: false));
        var rng = new Rng(5);
        var all = F.Dropout(x, 1f, rng, training: true);
        Assert.Equal([0f, 0f, 0f], all.Value.ToArray());
        Assert.Equal(new Rng(5).NextUInt64(), rng.NextUInt64()); // p = 1 draws nothing
        F.Sum(all).Backward();
        Assert.Equal([0f, 0f, 0f], x.Grad!.ToArray());
        Assert.Throws<InvalidValueException>(() => F.Dropout(x, 1.01f, new Rng(1), training: true));
        Assert.Throws<InvalidValueException>(() => F.Dropout(x, float.NaN, new Rng(1), training: true));
        Assert.Equal(1f, new NormSharp.Layers.Dropout(1f, new Rng(1)).P);
    }
}
