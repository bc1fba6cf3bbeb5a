using BenchmarkDotNet.Attributes;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Benchmarks;

/// <summary>GEMM in a Linear layer's orientation (X·Wᵀ) at the shapes of the CLI's <c>bench gemm</c>.</summary>
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    [Params("128x784x1000", "128x1000x1000", "4x1000x1000", "1024x1024x1024")]
    public string Shape { get; set; } = "";

    private int M => int.Parse(Shape.Split('x')[0]);
    private int K => int.Parse(Shape.Split('x')[1]);
    private int N => int.Parse(Shape.Split('x')[2]);

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(2);
        _a = new float[M * K];
        _b = new float[N * K];
        _c = new float[M * N];
        rng.FillUniform(_a, -1, 1);
        rng.FillUniform(_b, -1, 1);
    }

    [Benchmark]
    public void LinearForward() => Gemm.Multiply(false, true, M, N, K, 1f, _a, _b, 0f, _c);
}
