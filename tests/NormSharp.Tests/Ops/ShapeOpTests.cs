using CsCheck;
using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Views and copies that change shape: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Permute, Expand.</summary>
public class ShapeOpTests
{
    [Fact]
    public void ViewsShareMemoryAndGradientsPassThrough()
    {
        var x = Param(new Rng(1), [2, 1, 3]);
        var v = F.View(x, 3, 2);
        Assert.Same(x.Value.Storage, v.Value.Storage);
        Assert.Equal([2, 3], F.Squeeze(x).Shape.ToArray());
        Assert.Equal([2, 3], F.Squeeze(x, 1).Shape.ToArray());
        Assert.Same(x, F.Squeeze(x, 0)); // not of size 1: unchanged, as PyTorch
        Assert.Equal([2, 1, 3, 1], F.Unsqueeze(x, -1).Shape.ToArray());
        Assert.Equal([1, 2, 1, 3], F.Unsqueeze(x, 0).Shape.ToArray());
        Assert.Equal([2, 1, 1, 3], F.Unsqueeze(x, 2).Shape.ToArray());
        Assert.Equal([6], F.Flatten(x).Shape.ToArray());
        Assert.Equal([2, 3], F.Flatten(x, 1).Shape.ToArray());
        Assert.Equal([2, 3], F.Flatten(x, 0, 1).Shape.ToArray());
        Assert.Equal([1], F.Flatten(Variable.Constant(Tensor.Scalar(2f))).Shape.ToArray());
        AssertGradients(() => F.Mul(F.Unsqueeze(F.Squeeze(x), 0), F.Flatten(x, 0, 1)), x);
        Assert.Throws<ShapeMismatchException>(() => F.Unsqueeze(x, 4));
        Assert.Throws<ShapeMismatchException>(() => F.Flatten(x, 2, 1));
    }

    [Fact]
    public void TransposeMatchesIndexing()
    {
        var x = Param(new Rng(2), [2, 3, 4]);
        var t = F.Transpose(x, 0, 2).Value;
        Assert.Equal([4, 3, 2], t.Shape.ToArray());
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    Assert.Equal(x.Value[(i * 3 + j) * 4 + k], t[(k * 3 + j) * 2 + i]);
        var last = F.Transpose(x, -1, -2).Value;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    Assert.Equal(x.Value[(i * 3 + j) * 4 + k], last[(i * 4 + k) * 3 + j]);
        AssertGradients(() => F.Transpose(x, 0, 2), x);
        AssertGradients(() => F.Transpose(x, 1, 2), x);
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4 }, new[] { 2, 0, 1 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 1, 0, 2 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 0, 2, 1 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 0, 2, 1, 3 })] // attention heads: [B, T, H, D] → [B, H, T, D]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 3, 1, 2, 0 })]
    [InlineData(new[] { 2, 1, 4, 1 }, new[] { 3, 2, 1, 0 })]
    [InlineData(new[] { 70, 45 }, new[] { 1, 0 })]           // tiles with ragged edges
    public void PermuteMatchesIndexingAndDifferentiates(int[] shape, int[] perm)
    {
        var x = Param(new Rng(3), shape);
        var y = F.Permute(x, perm).Value;
        var ys = perm.Select(p => shape[p]).ToArray();
        Assert.Equal(ys, y.Shape.ToArray());
        for (int i = 0; i < y.Length; i++)
        {
            var oi = Unravel(i, ys);
            var si = new int[shape.Length];
            for (int d = 0; d < perm.Length; d++) si[perm[d]] = oi[d];
            Assert.Equal(x.Value[BroadcastOffset(si, shape)], y[i]);
        }
        if (x.Value.Length <= 200) AssertGradients(() => F.Permute(x, perm), x);
    }

    [Fact]
    public void PermuteThenInverseIsTheIdentity()
    {
        var gen = Gen.Select(Gen.Int[1, 5].Array[1, 5], Gen.ULong, (shape, seed) => (shape, seed));
        gen.Sample(c =>
        {
            var rng = new Rng(c.seed);
            var perm = Enumerable.Range(0, c.shape.Length).ToArray();
            rng.Shuffle(perm.AsSpan());
            var inverse = new int[perm.Length];
            for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
            var x = Variable.Constant(Tensor.Uniform(rng, -1, 1, c.shape));
            var back = F.Permute(F.Permute(x, perm), inverse);
            Assert.Equal(x.Shape.ToArray(), back.Shape.ToArray());
            Assert.Equal(x.Value.ToArray(), back.Value.ToArray());
        }, iter: 300);
    }

    [Fact]
    public void PermuteRejectsWhatIsNotAPermutation()
    {
        var x = Variable.Constant(Tensor.Zeros(2, 3));
        Assert.Throws<ShapeMismatchException>(() => F.Permute(x, 0, 0));
        Assert.Throws<ShapeMismatchException>(() => F.Permute(x, 0));
        Assert.Throws<ShapeMismatchException>(() => F.Permute(x, 0, 2));
        Assert.Equal([3, 2], F.Permute(x, -1, 0).Shape.ToArray());
    }

    [Fact]
    public void TransposeKernelOnEveryLength()
    {
        var rng = new Rng(4);
        foreach (int rows in new[] { 0, 1, 3, 31, 32, 33, 65 })
            for (int cols = 0; cols <= 70; cols += 7)
            {
                var x = Tensor.Uniform(rng, -1, 1, 2, rows, cols);
                var y = new float[x.Length];
                ShapeKernels.TransposeLastTwo(x.Span, y, 2, rows, cols);
                for (int b = 0; b < 2; b++)
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < cols; j++)
                            Assert.Equal(x[(b * rows + i) * cols + j], y[(b * cols + j) * rows + i]);
            }
    }

    [Fact]
    public void ExpandRepeatsAndSumsTheGradientBack()
    {
        var x = Param(new Rng(5), [3, 1]);
        var y = F.Expand(x, 2, -1, 4);
        Assert.Equal([2, 3, 4], y.Shape.ToArray());
        for (int i = 0; i < y.Value.Length; i++) Assert.Equal(x.Value[i / 4 % 3], y.Value[i]);
        AssertGradients(() => F.Expand(x, 2, 3, 4), x);
        AssertGradients(() => F.BroadcastTo(x, 3, 5), x);
        Assert.Throws<ShapeMismatchException>(() => F.Expand(x, 2, 1));
        Assert.Equal([3, 2], F.Expand(x, 3, 2).Shape.ToArray());
        Assert.Throws<ShapeMismatchException>(() => F.Expand(x, -1, 3, 4));
        Assert.Throws<ShapeMismatchException>(() => F.Expand(x, 4));
    }
}
