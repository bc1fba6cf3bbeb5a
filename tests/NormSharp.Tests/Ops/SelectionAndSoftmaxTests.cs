using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Where, MaskedFill, and softmax over any dimension.</summary>
public class SelectionAndSoftmaxTests
{
    [Fact]
    public void WhereChoosesAndBroadcastsAllThree()
    {
        var rng = new Rng(1);
        var cond = Tensor.FromArray(new float[,] { { 1 }, { 0 }, { 1 } }); // [3, 1]
        var a = Param(rng, [4]);
        var b = Param(rng, [2, 1, 1]);
        var y = F.Where(cond, a, b);
        Assert.Equal([2, 3, 4], y.Shape.ToArray());
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    Assert.Equal(cond[j] != 0 ? a.Value[k] : b.Value[i], y.Value[(i * 3 + j) * 4 + k]);
        AssertGradients(() => F.Where(cond, a, b), a, b);
        var same = Param(rng, [3, 4]);
        AssertGradients(() => F.Where(Tensor.FromArray(new float[,] { { 1, 0, 0, 1 }, { 0, 0, 1, 1 }, { 1, 1, 1, 0 } }), same, a), same, a);
    }

    [Fact]
    public void WhereWithConstantsAndNaNConditions()
    {
        var x = Variable.Parameter(Tensor.FromArray([1f, 2f, 3f]));
        var cond = Tensor.FromArray([0f, float.NaN, 2f]);
        Assert.Equal([-1f, 2f, 3f], F.Where(cond, x, -1f).Value.ToArray());
        Assert.Equal([1f, 5f, 5f], F.Where(cond, 5f, x).Value.ToArray());
        F.Sum(F.Where(cond, x, -1f)).Backward();
        Assert.Equal([0f, 1f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void WhereKeepsItsConditionFromTheForwardPass()
    {
        var x = Variable.Parameter(Tensor.FromArray([1f, 2f]));
        var cond = Tensor.FromArray([1f, 0f]);
        var y = F.Sum(F.Where(cond, x, 0f));
        cond.Span.Fill(0f); // a caller reusing its mask buffer before backward
        y.Backward();
        Assert.Equal([1f, 0f], x.Grad!.ToArray());
    }

    [Fact]
    public void MaskedFillKeepsTheInputShape()
    {
        var rng = new Rng(2);
        var x = Param(rng, [2, 3]);
        var causal = Tensor.FromArray(new float[,] { { 0, 1, 1 }, { 0, 0, 1 } });
        var y = F.MaskedFill(x, causal, float.NegativeInfinity);
        Assert.Equal([x.Value[0], float.NegativeInfinity, float.NegativeInfinity, x.Value[3], x.Value[4], float.NegativeInfinity], y.Value.ToArray());
        // A causally masked softmax: masked positions get exactly zero weight.
        var p = F.Softmax(y, 1).Value;
        Assert.Equal(1f, p[0]);
        Assert.Equal(0f, p[1]);
        AssertGradients(() => F.MaskedFill(x, Tensor.FromArray([1f, 0f, 1f]), 7f), x);
        var e = Assert.Throws<ShapeMismatchException>(() => F.MaskedFill(x, Tensor.Zeros(4, 2, 3), 0f));
        Assert.Contains("[4, 2, 3]", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(-1)]
    public void SoftmaxOverAnyDimensionMatchesTheDefinition(int dim)
    {
        var x = Param(new Rng(3), [3, 4, 5], -3f, 3f);
        var s = x.Shape.ToArray();
        int d = dim < 0 ? dim + 3 : dim;
        var expected = new double[x.Value.Length];
        var expectedLog = new double[x.Value.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            var idx = Unravel(i, s);
            double max = double.NegativeInfinity, sum = 0;
            for (int r = 0; r < s[d]; r++) { idx[d] = r; max = Math.Max(max, x.Value[BroadcastOffset(idx, s)]); }
            for (int r = 0; r < s[d]; r++) { idx[d] = r; sum += Math.Exp(x.Value[BroadcastOffset(idx, s)] - max); }
            expected[i] = Math.Exp(x.Value[i] - max) / sum;
            expectedLog[i] = x.Value[i] - max - Math.Log(sum);
        }
        AssertClose(expected, F.Softmax(x, dim).Value.Span, 1e-5);
        AssertClose(expectedLog, F.LogSoftmax(x, dim).Value.Span, 1e-5);
        AssertGradients(() => F.Softmax(x, dim), x);
        AssertGradients(() => F.LogSoftmax(x, dim), x);
    }

    [Fact]
    public void SoftmaxIsStableAndHandlesEmptyAndInfiniteInputs()
    {
        var big = Variable.Constant(Tensor.FromArray(new float[,] { { 1000, 1001 }, { -1000, -1001 } }));
        var p = F.Softmax(big, 0).Value;
        Assert.Equal(1f, p[0]);
        Assert.Equal(0f, p[2]);
        Assert.True(p.ToArray().All(float.IsFinite));
        Assert.Equal([3, 0], F.Softmax(Variable.Constant(Tensor.Zeros(3, 0)), 1).Shape.ToArray());
        Assert.Equal([0, 3], F.LogSoftmax(Variable.Constant(Tensor.Zeros(0, 3)), 0).Shape.ToArray());
        var allMasked = Variable.Constant(Tensor.Full(float.NegativeInfinity, 2, 2));
        Assert.All(F.Softmax(allMasked, 0).Value.ToArray(), v => Assert.True(float.IsNaN(v))); // as PyTorch
        Assert.Throws<ShapeMismatchException>(() => F.Softmax(big, 2));
    }
}
