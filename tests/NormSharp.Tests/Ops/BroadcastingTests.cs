using CsCheck;
using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Elementwise binary operations under NumPy/PyTorch broadcasting: values, gradients, errors.</summary>
public class BroadcastingTests
{
    public static TheoryData<int[], int[]> ShapePairs => new()
    {
        { [3, 4], [3, 4] },       // same shape
        { [3, 4], [4] },          // bias: trailing dimensions
        { [4], [3, 4] },          // bias on the left
        { [3, 4], [3, 1] },       // a column
        { [3, 1], [1, 4] },       // outer product shape
        { [2, 3, 4], [3, 1] },    // middle and trailing
        { [2, 1, 4], [1, 3, 1] }, // both stretch, alternating
        { [2, 3, 4], [] },        // scalar
        { [], [2, 3] },           // scalar on the left
        { [1], [5] },             // size-1 vector
        { [2, 1, 3, 1], [4, 1, 5] },
        { [1, 1], [1] },          // single element
    };

    [Theory]
    [MemberData(nameof(ShapePairs))]
    public void ForwardMatchesThePlainDefinition(int[] sa, int[] sb)
    {
        var rng = new Rng(1);
        var a = Param(rng, sa);
        var b = Param(rng, sb, 0.5f, 2f);
        AssertClose(NaiveBroadcast(a.Value, b.Value, (x, y) => x + y), F.Add(a, b).Value.Span);
        AssertClose(NaiveBroadcast(a.Value, b.Value, (x, y) => x - y), F.Sub(a, b).Value.Span);
        AssertClose(NaiveBroadcast(a.Value, b.Value, (x, y) => x * y), F.Mul(a, b).Value.Span);
        AssertClose(NaiveBroadcast(a.Value, b.Value, (x, y) => x / y), F.Div(a, b).Value.Span);
        AssertClose(NaiveBroadcast(a.Value, b.Value, Math.Max), F.Maximum(a, b).Value.Span);
        AssertClose(NaiveBroadcast(a.Value, b.Value, Math.Min), F.Minimum(a, b).Value.Span);
        AssertClose(NaiveBroadcast(b.Value, a.Value, Math.Pow), F.Pow(b, a).Value.Span);
        Assert.Equal(BroadcastShape(sa, sb), F.Add(a, b).Shape.ToArray());
    }

    [Theory]
    [MemberData(nameof(ShapePairs))]
    public void GradientsAreSummedBackToEachShape(int[] sa, int[] sb)
    {
        var rng = new Rng(2);
        var a = Param(rng, sa);
        var b = Param(rng, sb, 0.5f, 2f);
        AssertGradients(() => F.Add(a, b), a, b);
        AssertGradients(() => F.Sub(a, b), a, b);
        AssertGradients(() => F.Mul(a, b), a, b);
        AssertGradients(() => F.Div(a, b), a, b);
        AssertGradients(() => F.Pow(b, a), a, b);
    }

    [Fact]
    public void MaximumAndMinimumGradientsFollowTheWinner()
    {
        var rng = new Rng(3);
        var a = Distinct(rng, 3, 4);
        var b = Param(rng, [4], -0.31f, 0.29f);
        foreach (ref float v in b.Value.Span) v += 0.025f; // keep b off a's grid of multiples of 0.05
        AssertGradients(() => F.Maximum(a, b), a, b);
        AssertGradients(() => F.Minimum(a, b), a, b);
    }

    [Fact]
    public void MaximumSplitsTheGradientOnTiesAndPassesNaN()
    {
        var a = Variable.Parameter(Tensor.FromArray([1f, 2f, float.NaN]));
        var b = Variable.Parameter(Tensor.FromArray([1f, 3f, 0f]));
        var y = F.Maximum(a, b);
        Assert.True(float.IsNaN(y.Value[2]));
        F.Sum(F.Mul(y, Variable.Constant(Tensor.FromArray([1f, 1f, 0f])))).Backward();
        Assert.Equal([0.5f, 0f, 0f], a.Grad!.ToArray());
        Assert.Equal([0.5f, 1f, 0f], b.Grad!.ToArray());
    }

    [Fact]
    public void PowExponentGradientIsZeroAtAZeroBase()
    {
        var a = Variable.Parameter(Tensor.FromArray([0f, 2f]));
        var b = Variable.Parameter(Tensor.FromArray([2f, 3f]));
        F.Sum(F.Pow(a, b)).Backward();
        Assert.Equal(0f, b.Grad![0]);
        Assert.Equal(8f * MathF.Log(2f), b.Grad![1], 5);
        Assert.Equal([0f, 12f], a.Grad!.ToArray());
    }

    [Fact]
    public void AVariableOnBothSidesAccumulates()
    {
        var rng = new Rng(4);
        var a = Param(rng, [2, 3], 0.5f, 2f);
        AssertGradients(() => F.Div(a, a), a);
        AssertGradients(() => F.Mul(a, a), a);
        AssertGradients(() => F.Sub(F.Mul(a, F.Reshape(a, 2, 3)), a), a);
    }

    [Fact]
    public void ShapesThatDoNotBroadcastNameBoth()
    {
        var a = Variable.Constant(Tensor.Zeros(2, 3));
        var b = Variable.Constant(Tensor.Zeros(4, 3));
        foreach (var op in new Func<Variable, Variable, Variable>[] { F.Add, F.Sub, F.Mul, F.Div, F.Maximum, F.Pow })
        {
            var e = Assert.Throws<ShapeMismatchException>(() => op(a, b));
            Assert.Contains("[2, 3]", e.Message);
            Assert.Contains("[4, 3]", e.Message);
        }
    }

    [Theory]
    [InlineData(new[] { 0, 3 }, new[] { 3 })]
    [InlineData(new[] { 0, 3 }, new[] { 1, 1 })]
    [InlineData(new[] { 2, 0 }, new[] { 2, 1 })]
    [InlineData(new[] { 2, 1 }, new[] { 0 })]
    public void EmptyTensorsBroadcastToEmptyResults(int[] sa, int[] sb)
    {
        var a = Variable.Parameter(Tensor.Zeros(sa));
        var b = Variable.Parameter(Tensor.Ones(sb));
        var y = F.Mul(F.Add(a, b), b);
        Assert.Equal(BroadcastShape(sa, sb), y.Shape.ToArray());
        Assert.Equal(0, y.Value.Length);
        F.Sum(y).Backward();
        Assert.All(b.Grad!.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void RandomBroadcastableShapesAgreeWithThePlainDefinition()
    {
        // Draw a result shape, then derive each operand by dropping leading dimensions and setting some to 1.
        var gen = Gen.Select(Gen.Int[1, 4].Array[0, 5], Gen.Int[0, 31], Gen.Int[0, 31], Gen.Int[0, 2], Gen.Int[0, 2], Gen.ULong,
            (shape, maskA, maskB, dropA, dropB, seed) => (shape, maskA, maskB, dropA, dropB, seed));
        gen.Sample(c =>
        {
            var sa = Derive(c.shape, c.maskA, c.dropA);
            var sb = Derive(c.shape, c.maskB, c.dropB);
            var rng = new Rng(c.seed);
            var a = Tensor.Uniform(rng, -1, 1, sa);
            var b = Tensor.Uniform(rng, 0.5f, 2, sb);
            var ys = BroadcastShape(sa, sb);
            var y = Tensor.Zeros(ys);
            BroadcastKernels.Mul(a.Span, sa, b.Span, sb, y.Span, ys);
            AssertClose(NaiveBroadcast(a, b, (x, z) => x * z), y.Span);
            BroadcastKernels.Sub(a.Span, sa, b.Span, sb, y.Span, ys);
            AssertClose(NaiveBroadcast(a, b, (x, z) => x - z), y.Span);
            // SumTo is the adjoint of BroadcastTo: <BroadcastTo(a), y> = <a, SumTo(y)>.
            var spread = Tensor.Zeros(ys);
            BroadcastKernels.BroadcastTo(a.Span, sa, spread.Span, ys);
            var back = Tensor.Zeros(sa);
            BroadcastKernels.SumTo(y.Span, ys, back.Span, sa);
            double lhs = 0, rhs = 0;
            for (int i = 0; i < y.Length; i++) lhs += (double)spread[i] * y[i];
            for (int i = 0; i < a.Length; i++) rhs += (double)a[i] * back[i];
            Assert.Equal(lhs, rhs, 1e-4 * Math.Max(1, Math.Abs(lhs)));
        }, iter: 300);
    }

    private static int[] Derive(int[] shape, int mask, int drop)
    {
        int d = Math.Min(drop, shape.Length);
        var s = shape[d..].ToArray();
        for (int i = 0; i < s.Length; i++) if ((mask >> i & 1) != 0) s[i] = 1;
        return s;
    }

    [Fact]
    public void SumToAddsInDoublePrecisionAtALargeMean()
    {
        // 4096 rows of 1e4 + small values: a float running sum loses the small parts; the double sum keeps them.
        int rows = 4096;
        var x = Tensor.Zeros(rows, 2);
        double exact0 = 0;
        for (int r = 0; r < rows; r++)
        {
            x[r, 0] = 1e4f + (r % 7) * 1e-3f;
            x[r, 1] = 1f;
            exact0 += x[r, 0];
        }
        var y = Tensor.Zeros(1, 2);
        BroadcastKernels.SumTo(x.Span, x.Shape, y.Span, y.Shape);
        Assert.Equal((float)exact0, y[0]);
        Assert.Equal(rows, y[1]);
    }

    [Fact]
    public void BiasAddKeepsItsFastPathResult()
    {
        // The row-broadcast path and the general path must agree bit for bit.
        var rng = new Rng(5);
        var x = Tensor.Uniform(rng, -1, 1, 7, 33);
        var bias = Tensor.Uniform(rng, -1, 1, 33);
        var fast = F.Add(Variable.Constant(x), Variable.Constant(bias)).Value.ToArray();
        var general = Tensor.Zeros(7, 33);
        BroadcastKernels.Add(x.Span, x.Shape, bias.Span, [1, 33], general.Span, [7, 33]);
        Assert.Equal(fast, general.ToArray());
    }
}
