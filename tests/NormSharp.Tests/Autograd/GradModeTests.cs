using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

/// <summary>Gradient mode follows the logical flow of control and refuses misuse.</summary>
public class GradModeTests
{
    [Fact]
    public async Task NoGradSurvivesAwaitAndDoesNotLeakToOtherThreads()
    {
        using (GradMode.NoGrad())
        {
            await Task.Yield();
            await Task.Delay(1);
            Assert.False(GradMode.IsEnabled);
        }
        Assert.True(GradMode.IsEnabled);
        // Thread-pool threads that ran our continuations record again.
        bool[] seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => GradMode.IsEnabled)));
        Assert.All(seen, Assert.True);
    }

    [Fact]
    public void NoGradReachesParallelForBodies()
    {
        var w = Variable.Parameter(Tensor.FromValues([1f, 2f], 2));
        var recorded = new int[4];
        using (GradMode.NoGrad())
        {
            Parallel.For(0, 4, i =>
            {
                var y = F.Sum(F.Mul(w, w));
                recorded[i] = y.RequiresGrad ? 1 : 0;
                Assert.Equal(5f, y.Item());
            });
        }
        Assert.All(recorded, r => Assert.Equal(0, r));
    }

    [Fact]
    public void DisposingAScopeTwiceIsAnErrorAndLeavesTheModeIntact()
    {
        var scope = GradMode.NoGrad();
        scope.Dispose();
        Assert.True(GradMode.IsEnabled);
        Assert.Throws<NormSharpException>(() => scope.Dispose());
        Assert.True(GradMode.IsEnabled);
    }

    [Fact]
    public void ScopesDisposedOutOfOrderAreAnError()
    {
        var outer = GradMode.NoGrad();
        var inner = GradMode.EnableGrad();
        Assert.True(GradMode.IsEnabled);
        Assert.Throws<NormSharpException>(() => outer.Dispose());
        inner.Dispose();
        Assert.False(GradMode.IsEnabled);
        outer.Dispose();
        Assert.True(GradMode.IsEnabled);
    }
}
