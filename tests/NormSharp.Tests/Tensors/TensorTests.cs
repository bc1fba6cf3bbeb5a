using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Tensors;

public class TensorTests
{
    [Fact]
    public void ReshapeIsAViewThatSharesStorage()
    {
        var t = Tensor.FromValues([1, 2, 3, 4, 5, 6], 2, 3);
        var v = t.Reshape(3, -1);
        Assert.Equal(new[] { 3, 2 }, v.Shape.ToArray());
        v[5] = 60;
        Assert.Equal(60, t[1, 2]);
    }

    [Fact]
    public void ReshapeToAnotherSizeNamesBothShapes()
    {
        var t = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ShapeMismatchException>(() => t.Reshape(4, 2));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 2]", e.Message);
    }

    [Fact]
    public void NarrowSelectsRowsWithoutCopying()
    {
        var t = Tensor.FromValues([1, 2, 3, 4, 5, 6], 3, 2);
        var rows = t.Narrow(1, 2);
        Assert.Equal(new float[] { 3, 4, 5, 6 }, rows.ToArray());
        rows[0] = 30;
        Assert.Equal(30, t[2]);
        Assert.Throws<ShapeMismatchException>(() => t.Narrow(2, 2));
    }

    [Fact]
    public void ArenaReplaysTheSameTensorsAfterReset()
    {
        var arena = new TensorArena();
        var a = arena.Rent(4, 8);
        var b = arena.Rent(3);
        arena.Reset();
        Assert.Same(a, arena.Rent(4, 8));
        Assert.Same(b, arena.Rent(3));
        const int Steps = 1000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Steps; i++)
        {
            arena.Reset();
            arena.Rent(4, 8);
            arena.Rent(3);
        }
        // A few bytes of JIT tiering noise may appear once; a per-step allocation would show as >= 64 bytes a step.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < Steps * 8, "the arena allocated in steady state");
    }
}

public class TensorConstructionTests
{
    [Fact]
    public void ARowsByColsConstructorCallWrapsTheWholeArray()
    {
        var t = new Tensor(new float[12], 3, 4);
        Assert.Equal(new[] { 3, 4 }, t.Shape.ToArray());
        Assert.Throws<NormSharp.Errors.ShapeMismatchException>(() => new Tensor(new float[12], 5, 4));
    }
}
