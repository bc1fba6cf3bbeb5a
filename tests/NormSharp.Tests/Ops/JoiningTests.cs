using CsCheck;
using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Cat, Stack, Narrow, Split and Chunk along any dimension.</summary>
public class JoiningTests
{
    [Fact]
    public void CatAlongEachDimensionMatchesIndexing()
    {
        var rng = new Rng(1);
        var a = Param(rng, [2, 3, 4]);
        var b = Param(rng, [2, 1, 4]);
        var c = Param(rng, [2, 2, 4]);
        var y = F.Cat([a, b, c], 1).Value;
        Assert.Equal([2, 6, 4], y.Shape.ToArray());
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 6; j++)
                for (int k = 0; k < 4; k++)
                {
                    float expected = j < 3 ? a.Value[(i * 3 + j) * 4 + k] : j < 4 ? b.Value[i * 4 + k] : c.Value[(i * 2 + j - 4) * 4 + k];
                    Assert.Equal(expected, y[(i * 6 + j) * 4 + k]);
                }
        AssertGradients(() => F.Cat([a, b, c], 1), a, b, c);
        AssertGradients(() => F.Cat([a, a], -1), a);
        AssertGradients(() => F.Cat(new List<Variable> { a, a }, 0), a);
    }

    [Fact]
    public void CatChecksShapesAndSkipsLegacyEmptyVectors()
    {
        var a = Variable.Constant(Tensor.Zeros(2, 3));
        var e = Assert.Throws<ShapeMismatchException>(() => F.Cat([a, Variable.Constant(Tensor.Zeros(2, 4))], 0));
        Assert.Contains("[2, 4]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => F.Cat(ReadOnlySpan<Variable>.Empty));
        Assert.Equal([4, 3], F.Cat([a, Variable.Constant(Tensor.Zeros(0)), a], 0).Shape.ToArray());
        Assert.Equal([2, 3], F.Cat([a, Variable.Constant(Tensor.Zeros(0, 3))], 0).Shape.ToArray());
    }

    [Fact]
    public void StackInsertsANewDimension()
    {
        var rng = new Rng(2);
        var a = Param(rng, [2, 3]);
        var b = Param(rng, [2, 3]);
        for (int dim = -3; dim <= 2; dim++)
        {
            var y = F.Stack([a, b], dim);
            var manual = F.Cat([F.Unsqueeze(a, dim), F.Unsqueeze(b, dim)], dim);
            Assert.Equal(manual.Shape.ToArray(), y.Shape.ToArray());
            Assert.Equal(manual.Value.ToArray(), y.Value.ToArray());
        }
        AssertGradients(() => F.Stack([a, b, a], 1), a, b);
        Assert.Throws<ShapeMismatchException>(() => F.Stack([a, Variable.Constant(Tensor.Zeros(3, 2))]));
        Assert.Throws<ShapeMismatchException>(() => F.Stack([a, b], 3));
    }

    [Fact]
    public void NarrowIsAViewWhenContiguousAndACopyOtherwise()
    {
        var rng = new Rng(3);
        var x = Param(rng, [4, 5]);
        var rows = F.Narrow(x, 0, 1, 2);
        Assert.Same(x.Value.Storage, rows.Value.Storage);
        Assert.Equal(x.Value.ToArray()[5..15], rows.Value.ToArray());
        var cols = F.Narrow(x, 1, -3, 2); // negative start counts from the end
        Assert.Equal([4, 2], cols.Shape.ToArray());
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 2; c++)
                Assert.Equal(x.Value[r * 5 + 2 + c], cols.Value[r * 2 + c]);
        AssertGradients(() => F.Narrow(x, 0, 1, 2), x);
        AssertGradients(() => F.Narrow(x, 1, 2, 3), x);
        AssertGradients(() => F.Add(F.Narrow(x, 1, 0, 2), F.Narrow(x, 1, 3, 2)), x);
        var e = Assert.Throws<ShapeMismatchException>(() => F.Narrow(x, 1, 4, 2));
        Assert.Contains("[4, 5]", e.Message);
        Assert.Equal([0, 5], F.Narrow(x, 0, 4, 0).Shape.ToArray());
        Assert.Equal([1, 0, 3], F.Narrow(Variable.Constant(Tensor.Zeros(1, 4, 3)), 1, 2, 0).Shape.ToArray());
        Assert.Equal([0, 2], F.Narrow(Variable.Constant(Tensor.Zeros(0, 5)), 1, 1, 2).Shape.ToArray());
    }

    [Fact]
    public void SplitAndChunkFollowPyTorchSizes()
    {
        var x = Variable.Constant(Tensor.Arange(10));
        Assert.Equal([3, 3, 3, 1], F.Split(x, 3).Select(p => p.Shape[0]).ToArray());
        Assert.Equal([2, 5, 3], F.Split(x, [2, 5, 3]).Select(p => p.Shape[0]).ToArray());
        Assert.Equal([4, 4, 2], F.Chunk(x, 3).Select(p => p.Shape[0]).ToArray());
        Assert.Equal([2, 2, 2, 2, 2], F.Chunk(x, 5).Select(p => p.Shape[0]).ToArray());
        Assert.Equal(3, F.Chunk(Variable.Constant(Tensor.Arange(6)), 4).Length); // pieces of ⌈6/4⌉ = 2: fewer than asked, as in PyTorch
        Assert.Equal(3, F.Chunk(Variable.Constant(Tensor.Zeros(0)), 3).Length);
        Assert.Single(F.Split(Variable.Constant(Tensor.Zeros(0)), 2));
        Assert.Throws<ShapeMismatchException>(() => F.Split(x, [2, 2]));
        Assert.Throws<InvalidValueException>(() => F.Split(x, 0));
        Assert.Throws<InvalidValueException>(() => F.Chunk(x, 0));
        Assert.Equal([5f, 6f, 7f, 8f, 9f], F.Split(x, [5, 5])[1].Value.ToArray());
    }

    [Fact]
    public void SplitPiecesCarryGradientsBack()
    {
        var x = Param(new Rng(4), [3, 6]);
        AssertGradients(() =>
        {
            var p = F.Split(x, [1, 3, 2], 1);
            return F.Cat([F.Mul(p[0], p[0]), p[2], F.Exp(p[1])], 1);
        }, x);
        AssertGradients(() => F.Chunk(x, 2, 0)[1], x);
    }

    [Fact]
    public void CatThenSplitRoundTrips()
    {
        var gen = Gen.Select(Gen.Int[1, 4].Array[1, 4], Gen.Int[0, 3].Array[1, 4], Gen.Int[0, 3], Gen.ULong, (shape, sizes, dimPick, seed) => (shape, sizes, dimPick, seed));
        gen.Sample(c =>
        {
            var rng = new Rng(c.seed);
            int dim = c.dimPick % c.shape.Length;
            var parts = c.sizes.Select(n =>
            {
                var s = (int[])c.shape.Clone();
                s[dim] = n;
                return Variable.Constant(Tensor.Uniform(rng, -1, 1, s));
            }).ToArray();
            var joined = F.Cat(parts, dim);
            var back = F.Split(joined, c.sizes, dim);
            Assert.Equal(parts.Length, back.Length);
            for (int i = 0; i < parts.Length; i++)
            {
                Assert.Equal(parts[i].Shape.ToArray(), back[i].Shape.ToArray());
                Assert.Equal(parts[i].Value.ToArray(), back[i].Value.ToArray());
            }
        }, iter: 300);
    }
}
