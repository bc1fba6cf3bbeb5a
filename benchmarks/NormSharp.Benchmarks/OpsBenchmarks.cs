using BenchmarkDotNet.Attributes;
using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Benchmarks;

/// <summary>
/// Forward and backward of the general operations a custom model uses, at transformer-like sizes: the
/// elementwise fast paths (same shape, bias row) beside general broadcasting, reductions over a dimension,
/// the blocked transpose, softmax along a non-last dimension, and batched matmul.
/// </summary>
[MemoryDiagnoser]
public class OpsBenchmarks
{
    private Variable _a = null!, _b = null!, _bias = null!, _column = null!, _row = null!;
    private Variable _q = null!, _k = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _a = Variable.Parameter(Tensor.Randn(rng, 64, 512));
        _b = Variable.Parameter(Tensor.Randn(rng, 64, 512));
        _bias = Variable.Parameter(Tensor.Randn(rng, 512));
        _column = Variable.Parameter(Tensor.Randn(rng, 64, 1));
        _row = Variable.Parameter(Tensor.Randn(rng, 1, 512));
        _q = Variable.Parameter(Tensor.Randn(rng, 8, 4, 64, 32));
        _k = Variable.Parameter(Tensor.Randn(rng, 8, 4, 64, 32));
    }

    /// <summary>A scalar loss that touches one element, so the measured backward is the operation's own.</summary>
    private static void Backward(Variable y) => F.Sum(F.NarrowRows(F.Reshape(y, y.Value.Length), 0, 1)).Backward();

    [Benchmark(Baseline = true)]
    public void AddSameShape() => Backward(F.Add(_a, _b));

    [Benchmark]
    public void AddBias() => Backward(F.Add(_a, _bias));

    [Benchmark]
    public void MulColumnTimesRow() => Backward(F.Mul(_column, _row));

    [Benchmark]
    public void MulColumnBroadcast() => Backward(F.Mul(_a, _column));

    [Benchmark]
    public void MeanOverRows() => Backward(F.Mean(_a, 0));

    [Benchmark]
    public void SoftmaxOverRows() => Backward(F.Softmax(_a, 0));

    [Benchmark]
    public void TransposeLastTwo() => Backward(F.Transpose(_q, -1, -2));

    [Benchmark]
    public void PermuteHeads() => Backward(F.Permute(_q, 0, 2, 1, 3));

    [Benchmark]
    public void BatchedMatMul() => Backward(F.MatMul(_q, _k, transposeB: true));
}
