using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Sum, Mean and Max over dimensions, ArgMax, and the reduction kernels.</summary>
public class ReductionTests
{
    /// <summary>Sum over the dimensions flagged in <paramref name="reduce"/>, the plain way, in keep-dims layout.</summary>
    private static double[] NaiveSum(Tensor x, bool[] reduce, out int[] keepShape)
    {
        var s = x.Shape.ToArray();
        keepShape = s.Select((d, i) => reduce[i] ? 1 : d).ToArray();
        var y = new double[Count(keepShape)];
        for (int i = 0; i < x.Length; i++)
            y[BroadcastOffset(Unravel(i, s), keepShape)] += x[i];
        return y;
    }

    public static TheoryData<int[], int[]> Cases => new()
    {
        { [3, 4], [0] },
        { [3, 4], [1] },
        { [3, 4], [-1] },
        { [2, 3, 4], [0, 2] },
        { [2, 3, 4], [1] },
        { [2, 3, 4, 5], [1, 3] },
        { [2, 3, 4, 5], [0, 1] },
        { [2, 3, 4, 5], [2, 3] },
        { [2, 1, 4], [1] },
        { [5, 600], [1] }, // a run longer than the column block
        { [3, 700], [0] },
        { [2, 3], [] },    // empty list: every dimension, as in PyTorch
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SumAndMeanOverDimensionsMatchThePlainDefinition(int[] shape, int[] dims)
    {
        var rng = new Rng(1);
        var x = Param(rng, shape);
        var reduce = new bool[shape.Length];
        if (dims.Length == 0) Array.Fill(reduce, true);
        foreach (int d in dims) reduce[d < 0 ? d + shape.Length : d] = true;
        var expected = NaiveSum(x.Value, reduce, out var keepShape);
        long count = shape.Where((_, i) => reduce[i]).Aggregate(1L, (p, d) => p * d);

        var kept = F.Sum(x, dims, keepDim: true);
        Assert.Equal(keepShape, kept.Shape.ToArray());
        AssertClose(expected, kept.Value.Span, 1e-6);
        var dropped = F.Sum(x, dims);
        Assert.Equal(keepShape.Where((_, i) => !reduce[i]).ToArray(), dropped.Shape.ToArray());
        AssertClose(expected.Select(v => v / count).ToArray(), F.Mean(x, dims).Value.Span, 1e-6);

        if (x.Value.Length <= 200)
        {
            AssertGradients(() => F.Sum(x, dims), x);
            AssertGradients(() => F.Mean(x, dims, keepDim: true), x);
        }
    }

    [Fact]
    public void SingleDimensionOverloadsAgreeWithTheListForm()
    {
        var x = Param(new Rng(2), [2, 3, 4]);
        Assert.Equal(F.Sum(x, [1]).Value.ToArray(), F.Sum(x, 1).Value.ToArray());
        Assert.Equal(F.Mean(x, [-1], true).Value.ToArray(), F.Mean(x, -1, keepDim: true).Value.ToArray());
        Assert.Equal([2, 1, 4], F.Sum(x, 1, keepDim: true).Shape.ToArray());
    }

    [Fact]
    public void WholeTensorSumAndMeanAreScalars()
    {
        var x = Variable.Parameter(Tensor.FromArray([1f, 2f, 3f, 4f]));
        Assert.Equal(10f, F.Sum(x).Item());
        Assert.Equal(2.5f, F.Mean(x).Item());
        Assert.Empty(F.Sum(x).Shape.ToArray());
        Assert.True(float.IsNaN(F.Mean(Variable.Constant(Tensor.Zeros(0))).Item())); // as torch.mean of an empty tensor
        Assert.True(float.IsNaN(F.Mean(Variable.Constant(Tensor.Zeros(0, 3)), 0).Value[1]));
        Assert.Equal(0f, F.Sum(Variable.Constant(Tensor.Zeros(0, 3)), 0).Value[1]);
    }

    [Fact]
    public void BadDimensionsAreNamed()
    {
        var x = Variable.Constant(Tensor.Zeros(2, 3));
        var e = Assert.Throws<ShapeMismatchException>(() => F.Sum(x, 2));
        Assert.Contains("dimension 2", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => F.Sum(x, [0, -2]));
        Assert.Throws<ShapeMismatchException>(() => F.Max(x, -3));
        Assert.Throws<ShapeMismatchException>(() => F.Max(Variable.Constant(Tensor.Zeros(0))));
        Assert.Throws<ShapeMismatchException>(() => F.Max(Variable.Constant(Tensor.Zeros(2, 0)), 1));
    }

    [Fact]
    public void MeanOfLargeValuesDoesNotLoseTheSmallParts()
    {
        // float accumulation of 1e6 + k over 10000 columns drifts by whole units; the double sum is exact to rounding.
        int n = 10000;
        var x = Tensor.Zeros(2, n);
        double exact = 0;
        for (int i = 0; i < n; i++) { x[0, i] = 1e6f + i % 3; x[1, i] = i; exact += x[0, i]; }
        var mean = F.Mean(Variable.Constant(x), 1).Value;
        Assert.Equal((float)(exact / n), mean[0]);
        Assert.Equal((n - 1) / 2f, mean[1]);
    }

    [Fact]
    public void MaxOverADimensionAndItsIndices()
    {
        var x = Variable.Parameter(Tensor.FromArray(new float[,] { { 1, 5, 2 }, { 7, 0, 7 } }));
        Assert.Equal([5f, 7f], F.Max(x, 1).Value.ToArray());
        Assert.Equal([7f, 5f, 7f], F.Max(x, 0).Value.ToArray());
        Assert.Equal([1f, 0f], F.ArgMax(x, 1).ToArray()); // the first of tied maxima
        Assert.Equal([2, 1], F.ArgMax(x, 1, keepDim: true).Shape.ToArray());
        Assert.Equal([1f, 0f, 1f], F.ArgMax(x, 0).ToArray());
        Assert.Equal(3f, F.ArgMax(x)[0]);
        F.Sum(F.Max(x, 1)).Backward();
        Assert.Equal([0f, 1f, 0f, 1f, 0f, 0f], x.Grad!.ToArray()); // to the reported index only
    }

    [Fact]
    public void WholeTensorMaxSharesItsGradientAmongTies()
    {
        var x = Variable.Parameter(Tensor.FromArray([3f, 1f, 3f, 2f]));
        var m = F.Max(x);
        Assert.Equal(3f, m.Item());
        m.Backward();
        Assert.Equal([0.5f, 0f, 0.5f, 0f], x.Grad!.ToArray());
    }

    [Fact]
    public void NaNWinsTheMaximum()
    {
        var x = Variable.Constant(Tensor.FromArray(new float[,] { { 1, float.NaN, 3 }, { 4, 5, 6 } }));
        Assert.True(float.IsNaN(F.Max(x, 1).Value[0]));
        Assert.Equal(1f, F.ArgMax(x, 1)[0]);
        Assert.True(float.IsNaN(F.Max(x, 0).Value[1]));
        Assert.True(float.IsNaN(F.Max(x).Item()));
        Assert.Equal(1f, F.ArgMax(x)[0]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void MaxGradientsAndValuesAgainstAReference(int dim)
    {
        var x = Distinct(new Rng(3), 3, 4, 5);
        var s = x.Shape.ToArray();
        var values = F.Max(x, dim).Value;
        var indices = F.ArgMax(x, dim);
        for (int i = 0; i < values.Length; i++)
        {
            var keepShape = s.Select((d, j) => j == dim ? 1 : d).ToArray();
            var idx = Unravel(i, keepShape);
            double best = double.NegativeInfinity;
            int at = -1;
            for (int r = 0; r < s[dim]; r++)
            {
                idx[dim] = r;
                double v = x.Value[BroadcastOffset(idx, s)];
                if (v > best) { best = v; at = r; }
            }
            Assert.Equal((float)best, values[i]);
            Assert.Equal(at, indices[i]);
        }
        AssertGradients(() => F.Max(x, dim), x);
        AssertGradients(() => F.Max(x), x);
    }

    [Fact]
    public void MinMirrorsMax()
    {
        var x = Distinct(new Rng(6), 3, 4, 5);
        var neg = Variable.Constant(Tensor.FromArray(x.Value.ToArray().Select(v => -v).ToArray()).Reshape(3, 4, 5));
        for (int dim = 0; dim < 3; dim++)
        {
            Assert.Equal(F.Max(neg, dim).Value.ToArray().Select(v => -v), F.Min(x, dim).Value.ToArray());
            Assert.Equal(F.ArgMax(neg, dim).ToArray(), F.ArgMin(x, dim, keepDim: true).ToArray());
            AssertGradients(() => F.Min(x, dim, keepDim: true), x);
        }
        Assert.Equal(-F.Max(neg).Item(), F.Min(x).Item());
        Assert.Equal(F.ArgMax(neg)[0], F.ArgMin(x)[0]);
        AssertGradients(() => F.Min(x), x);
        var withNaN = Variable.Constant(Tensor.FromArray([3f, float.NaN, -1f]));
        Assert.True(float.IsNaN(F.Min(withNaN, 0).Item()));
        Assert.Equal(1f, F.ArgMin(withNaN, 0)[0]);
        Assert.Equal(1f, F.ArgMin(withNaN)[0]);
    }

    [Theory]
    [InlineData(new[] { 0, 2 }, false)]
    [InlineData(new[] { 1 }, true)]
    [InlineData(new[] { -1, 0 }, true)]
    [InlineData(new int[0], false)]
    public void AmaxAndAminOverSetsOfDimensions(int[] dims, bool keepDim)
    {
        var x = Distinct(new Rng(7), 2, 3, 4);
        var s = x.Shape.ToArray();
        var reduce = new bool[3];
        if (dims.Length == 0) Array.Fill(reduce, true);
        foreach (int d in dims) reduce[d < 0 ? d + 3 : d] = true;
        var keepShape = s.Select((n, i) => reduce[i] ? 1 : n).ToArray();
        var max = Enumerable.Repeat(double.NegativeInfinity, (int)Count(keepShape)).ToArray();
        var min = Enumerable.Repeat(double.PositiveInfinity, max.Length).ToArray();
        for (int i = 0; i < x.Value.Length; i++)
        {
            int at = BroadcastOffset(Unravel(i, s), keepShape);
            max[at] = Math.Max(max[at], x.Value[i]);
            min[at] = Math.Min(min[at], x.Value[i]);
        }
        var y = F.Amax(x, dims, keepDim);
        Assert.Equal(keepDim ? keepShape : keepShape.Where((_, i) => !reduce[i]).ToArray(), y.Shape.ToArray());
        AssertClose(max, y.Value.Span, 0);
        AssertClose(min, F.Amin(x, dims, keepDim).Value.Span, 0);
        AssertGradients(() => F.Amax(x, dims, keepDim), x);
        AssertGradients(() => F.Amin(x, dims, keepDim), x);
    }

    [Fact]
    public void AmaxSharesTheGradientAmongTiesAndRejectsEmptyDimensions()
    {
        var x = Variable.Parameter(Tensor.FromArray(new float[,] { { 2, 2, 1 }, { 0, 3, 3 } }));
        F.Sum(F.Amax(x, [1])).Backward();
        Assert.Equal([0.5f, 0.5f, 0f, 0f, 0.5f, 0.5f], x.Grad!.ToArray());
        x.ZeroGrad();
        F.Sum(F.Amax(x, [0, 1])).Backward();
        Assert.Equal([0f, 0f, 0f, 0f, 0.5f, 0.5f], x.Grad!.ToArray());
        Assert.Throws<ShapeMismatchException>(() => F.Amax(Variable.Constant(Tensor.Zeros(2, 0)), [1]));
        Assert.Equal([0, 1], F.Amax(Variable.Constant(Tensor.Zeros(0, 3)), [1], keepDim: true).Shape.ToArray());
        Assert.Throws<ShapeMismatchException>(() => F.Amin(x, [1, 1]));
        Assert.True(float.IsNaN(F.Amax(Variable.Constant(Tensor.FromArray([1f, float.NaN])), []).Item()));
    }

    [Fact]
    public void SumDoubleIsExactOnEveryLengthAndOrderFixed()
    {
        var rng = new Rng(4);
        for (int n = 0; n <= 256; n++)
        {
            var x = Tensor.Uniform(rng, -1, 1, n);
            double expected = 0;
            // The documented order: sixteen lanes by index mod 16, combined pairwise, then the tail.
            var lanes = new double[16];
            int full = n / 16 * 16;
            for (int i = 0; i < full; i++) lanes[i % 16] += x[i];
            for (int width = 8; width >= 1; width /= 2)
                for (int j = 0; j < width; j++) lanes[j] = lanes[2 * j] + lanes[2 * j + 1];
            expected = lanes[0];
            for (int i = full; i < n; i++) expected += x[i];
            Assert.Equal(expected, ReductionKernels.SumDouble(x.Span));
        }
    }

    [Fact]
    public void AddWidenedOnEveryLength()
    {
        var rng = new Rng(5);
        for (int n = 0; n <= 256; n++)
        {
            var x = Tensor.Uniform(rng, -1, 1, n);
            var acc = new double[n];
            for (int i = 0; i < n; i++) acc[i] = i;
            ReductionKernels.AddWidened(x.Span, acc);
            for (int i = 0; i < n; i++) Assert.Equal(i + (double)x[i], acc[i]);
        }
    }
}
