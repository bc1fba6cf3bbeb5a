using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;
using static NormSharp.Tests.Ops.OpTesting;

namespace NormSharp.Tests.Ops;

/// <summary>Embedding lookups and PyTorch-style matmul over batches and vectors.</summary>
public class EmbeddingAndMatMulTests
{
    [Fact]
    public void EmbeddingGathersRowsForAnyIndexShape()
    {
        var w = Param(new Rng(1), [5, 3]);
        var idx = Tensor.FromArray(new float[,] { { 4, 0, 4 }, { 1, 2, 3 } });
        var y = F.Embedding(idx, w);
        Assert.Equal([2, 3, 3], y.Shape.ToArray());
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(w.Value[(int)idx[i] * 3 + j], y.Value[i * 3 + j]);
        Assert.Equal(y.Value.ToArray()[..9], F.Embedding([4, 0, 4], w).Value.ToArray());
        AssertGradients(() => F.Embedding(idx, w), w);
        AssertGradients(() => F.Embedding([4, 4, 1], w), w);
    }

    [Fact]
    public void RepeatedIndicesAddUpAndThePaddingRowGetsNothing()
    {
        var w = Variable.Parameter(Tensor.Ones(4, 2));
        F.Sum(F.Embedding(Tensor.FromArray([1f, 1f, 3f, 0f]), w, paddingIdx: -1)).Backward();
        Assert.Equal([1f, 1f, 2f, 2f, 0f, 0f, 0f, 0f], w.Grad!.ToArray());
    }

    [Fact]
    public void EmbeddingRejectsBadIndices()
    {
        var w = Variable.Parameter(Tensor.Ones(4, 2));
        var e = Assert.Throws<ShapeMismatchException>(() => F.Embedding(Tensor.FromArray([1f, 4f]), w));
        Assert.Contains("index 4 at position 1", e.Message);
        Assert.Throws<ShapeMismatchException>(() => F.Embedding(Tensor.FromArray([1.5f]), w));
        Assert.Throws<ShapeMismatchException>(() => F.Embedding(Tensor.FromArray([-1f]), w));
        Assert.Throws<ShapeMismatchException>(() => F.Embedding(Tensor.FromArray([float.NaN]), w));
        Assert.Throws<ShapeMismatchException>(() => F.Embedding([7], w));
        Assert.Throws<InvalidValueException>(() => F.Embedding([1], w, paddingIdx: 4));
        Assert.Throws<ShapeMismatchException>(() => F.Embedding([0], Variable.Parameter(Tensor.Ones(4))));
    }

    [Fact]
    public void EmbeddingLayerStartsItsPaddingRowAtZeroAndTrains()
    {
        var layer = new Embedding(10, 4, new Rng(2), paddingIdx: 0);
        Assert.All(layer.Weight.Value.ToArray()[..4], v => Assert.Equal(0f, v));
        Assert.Equal("Embedding(10, 4, padding_idx=0)", layer.ToString());
        Assert.Single(layer.Parameters());
        var y = layer.Forward(Variable.Constant(Tensor.FromArray([0f, 3f])));
        Assert.Equal([2, 4], y.Shape.ToArray());
        F.Sum(y).Backward();
        Assert.All(layer.Weight.Grad!.ToArray()[..4], v => Assert.Equal(0f, v));
        Assert.All(layer.Weight.Grad!.ToArray()[12..16], v => Assert.Equal(1f, v));
        Assert.Throws<InvalidValueException>(() => new Embedding(0, 4, new Rng(1)));
        Assert.Throws<InvalidValueException>(() => new Embedding(3, 4, new Rng(1), paddingIdx: 3));
    }

    /// <summary>PyTorch's matmul semantics spelled out: promote vectors, broadcast batches, multiply in double.</summary>
    private static (double[] Values, int[] Shape) NaiveMatMul(Tensor a, Tensor b)
    {
        var sa = a.Shape.ToArray();
        var sb = b.Shape.ToArray();
        bool va = sa.Length == 1, vb = sb.Length == 1;
        if (va) sa = [1, sa[0]];
        if (vb) sb = [sb[0], 1];
        int m = sa[^2], k = sa[^1], n = sb[^1];
        var batch = BroadcastShape(sa[..^2], sb[..^2]);
        var y = new double[Count(batch) * m * n];
        for (long bi = 0; bi < Count(batch); bi++)
        {
            var idx = Unravel(bi, batch);
            int ao = BroadcastOffset(idx, sa[..^2]) * m * k, bo = BroadcastOffset(idx, sb[..^2]) * k * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double)a[ao + i * k + p] * b[bo + p * n + j];
                    y[(bi * m + i) * n + j] = s;
                }
        }
        var shape = batch.Concat(va ? [] : new[] { m }).Concat(vb ? [] : new[] { n }).ToArray();
        return (y, shape);
    }

    public static TheoryData<int[], int[]> MatMulShapes => new()
    {
        { [3, 4], [4, 5] },
        { [2, 3, 4], [4, 5] },       // folded into one product
        { [4], [4, 5] },             // row vector
        { [3, 4], [4] },             // column vector
        { [4], [4] },                // dot product
        { [2, 3, 4], [2, 4, 5] },    // batched
        { [3, 4], [2, 4, 5] },       // a broadcast over b's batch
        { [2, 1, 3, 4], [5, 4, 2] }, // both batches broadcast
        { [4], [2, 4, 5] },
        { [2, 3, 4], [4] },
        { [2, 0, 4], [2, 4, 3] },    // empty rows
        { [2, 3, 0], [2, 0, 3] },    // empty inner dimension: zeros
    };

    [Theory]
    [MemberData(nameof(MatMulShapes))]
    public void MatMulFollowsPyTorchSemantics(int[] sa, int[] sb)
    {
        var rng = new Rng(3);
        var a = Param(rng, sa);
        var b = Param(rng, sb);
        var (expected, shape) = NaiveMatMul(a.Value, b.Value);
        var y = F.MatMul(a, b);
        Assert.Equal(shape, y.Shape.ToArray());
        AssertClose(expected, y.Value.Span, 1e-5);
        if (a.Value.Length > 0 && b.Value.Length > 0) AssertGradients(() => F.MatMul(a, b), a, b);
    }

    [Fact]
    public void MatMulWithTransposedBReadsItSwapped()
    {
        var rng = new Rng(4);
        var a = Param(rng, [2, 3, 4]);
        var bt = Param(rng, [2, 5, 4]);
        var b = F.Transpose(bt, -1, -2);
        // The two orientations take different GEMM paths (each with its own fixed summation order), so they agree to rounding.
        AssertClose(Array.ConvertAll(F.MatMul(a, b).Value.ToArray(), v => (double)v), F.MatMul(a, bt, transposeB: true).Value.Span, 1e-6);
        var w = Param(rng, [5, 4]);
        AssertClose(NaiveMatMul(a.Value, F.Transpose(w, 0, 1).Value).Values, F.MatMul(a, w, transposeB: true).Value.Span, 1e-5);
        AssertGradients(() => F.MatMul(a, bt, transposeB: true), a, bt);
        AssertGradients(() => F.MatMul(a, w, transposeB: true), a, w);
        var shared = Param(rng, [5, 4]);
        AssertGradients(() => F.MatMul(Param(new Rng(9), [2, 2, 3, 4]), F.Expand(shared, 2, 5, 4), transposeB: true), shared);
    }

    [Fact]
    public void MatMulErrorsNameTheShapes()
    {
        var a = Variable.Constant(Tensor.Zeros(2, 3, 4));
        var e = Assert.Throws<ShapeMismatchException>(() => F.MatMul(a, Variable.Constant(Tensor.Zeros(2, 5, 6))));
        Assert.Contains("[2, 3, 4]", e.Message);
        Assert.Contains("[2, 5, 6]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => F.MatMul(a, Variable.Constant(Tensor.Zeros(3, 4, 6))));
        Assert.Throws<ShapeMismatchException>(() => F.MatMul(a, Variable.Constant(Tensor.Scalar(1f))));
        Assert.Throws<InvalidValueException>(() => F.MatMul(a, Variable.Constant(Tensor.Zeros(4)), transposeB: true));
    }

    [Fact]
    public void AttentionComposedFromTheOpsDifferentiates()
    {
        // softmax(QKᵀ/√d + causal mask)·V over [batch, heads, time, dim], heads split and merged with Permute.
        var rng = new Rng(5);
        var x = Param(rng, [2, 3, 4]);      // [batch, time, model]
        var wq = Param(rng, [4, 4]);
        var wv = Param(rng, [4, 4]);
        var mask = Tensor.FromArray(new float[,] { { 0, 1, 1 }, { 0, 0, 1 }, { 0, 0, 0 } });
        Variable Forward()
        {
            var q = F.Permute(F.Reshape(F.MatMul(x, wq), 2, 3, 2, 2), 0, 2, 1, 3);
            var v = F.Permute(F.Reshape(F.MatMul(x, wv), 2, 3, 2, 2), 0, 2, 1, 3);
            var scores = F.MaskedFill(F.MatMul(q, q, transposeB: true) / MathF.Sqrt(2), mask, float.NegativeInfinity);
            var heads = F.MatMul(F.Softmax(scores, -1), v);
            return F.Reshape(F.Permute(heads, 0, 2, 1, 3), 2, 3, 4);
        }
        Assert.Equal([2, 3, 4], Forward().Shape.ToArray());
        AssertGradients(Forward, x, wq, wv);
    }
}
