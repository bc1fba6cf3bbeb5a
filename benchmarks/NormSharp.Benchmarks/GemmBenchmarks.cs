using BenchmarkDotNet.Attributes;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Benchmarks;

/// <summary>
/// The three products of a Linear layer X[m,k] → Y[m,n] with weight W[n,k], at the shapes the CLI's GEMM benchmark
/// reports: forward Y = X·Wᵀ, input gradient dX = dY·W, weight gradient dW = dYᵀ·X.
/// One forward call does 2·m·n·k flops; GFLOP/s = 2·m·n·k / mean time.
/// </summary>
public class GemmBenchmarks
{
    /// <summary>A layer shape: batch m, input width k, output width n.</summary>
    public readonly record struct Shape(int M, int K, int N)
    {
        /// <inheritdoc/>
        public override string ToString() => $"{M}x{K}x{N}";
    }

    /// <summary>The shapes benchmarked.</summary>
    public static IEnumerable<Shape> Shapes =>
        [new(128, 784, 1000), new(128, 1000, 1000), new(4, 1000, 1000), new(1024, 1024, 1024)];

    /// <summary>The current shape.</summary>
    [ParamsSource(nameof(Shapes))]
    public Shape Size { get; set; }

    private float[] _x = [], _w = [], _y = [], _dx = [], _dw = [];

    /// <summary>Allocates and fills the operands once per shape.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(42);
        _x = new float[Size.M * Size.K];
        _w = new float[Size.N * Size.K];
        _y = new float[Size.M * Size.N];
        _dx = new float[Size.M * Size.K];
        _dw = new float[Size.N * Size.K];
        rng.FillUniform(_x, -1f, 1f);
        rng.FillUniform(_w, -1f, 1f);
        rng.FillUniform(_y, -1f, 1f);
    }

    /// <summary>Y[m,n] = X[m,k]·Wᵀ.</summary>
    [Benchmark(Baseline = true)]
    public void Forward() => Gemm.Multiply(false, true, Size.M, Size.N, Size.K, 1f, _x, _w, 0f, _y);

    /// <summary>dX[m,k] = dY[m,n]·W[n,k].</summary>
    [Benchmark]
    public void BackwardInput() => Gemm.Multiply(false, false, Size.M, Size.K, Size.N, 1f, _y, _w, 0f, _dx);

    /// <summary>dW[n,k] = dY[m,n]ᵀ·X[m,k].</summary>
    [Benchmark]
    public void BackwardWeight() => Gemm.Multiply(true, false, Size.N, Size.K, Size.M, 1f, _y, _x, 0f, _dw);
}
