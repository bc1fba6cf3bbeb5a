using BenchmarkDotNet.Attributes;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;

namespace NormSharp.Benchmarks;

/// <summary>LayerNorm forward and forward+backward at the shapes of the CLI's <c>bench norms</c>.</summary>
[MemoryDiagnoser]
public class LayerNormBenchmarks
{
    private float[] _x = [], _y = [], _dy = [], _dx = [], _w = [], _b = [], _dw = [], _db = [], _mean = [], _rstd = [];

    [Params(16384, 4096)]
    public int Rows { get; set; }

    [Params(256, 1024)]
    public int Cols { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        int n = Rows * Cols;
        _x = new float[n]; _y = new float[n]; _dy = new float[n]; _dx = new float[n];
        _w = new float[Cols]; _b = new float[Cols]; _dw = new float[Cols]; _db = new float[Cols];
        _mean = new float[Rows]; _rstd = new float[Rows];
        rng.FillUniform(_x, -2, 2);
        rng.FillUniform(_dy, -1, 1);
        rng.FillUniform(_w, 0.5f, 1.5f);
    }

    [Benchmark]
    public void Forward() => LayerNormKernels.Forward(_x, _w, _b, _y, _mean, _rstd, Rows, Cols, 1e-5f);

    [Benchmark]
    public void ForwardBackward()
    {
        LayerNormKernels.Forward(_x, _w, _b, _y, _mean, _rstd, Rows, Cols, 1e-5f);
        LayerNormKernels.Backward(_dy, _x, _w, _mean, _rstd, _dx, _dw, _db, Rows, Cols);
    }
}
