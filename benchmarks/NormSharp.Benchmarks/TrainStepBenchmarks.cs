using BenchmarkDotNet.Attributes;
using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Benchmarks;

/// <summary>One training step (forward, backward, Adam) of the paper's LN MLP; the memory diagnoser shows the per-step allocation.</summary>
[MemoryDiagnoser]
public class TrainStepBenchmarks
{
    private Mlp _model = null!;
    private Adam _optimizer = null!;
    private Variable _x = null!;
    private int[] _labels = [];

    [Params(128, 4)]
    public int BatchSize { get; set; }

    [Params(NormKind.Layer, NormKind.None)]
    public NormKind Norm { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _model = new Mlp([784, 1000, 1000, 10], Norm, rng);
        _optimizer = new Adam(_model.Parameters(), 1e-3);
        _x = Variable.Constant(Tensor.Zeros(BatchSize, 784));
        rng.FillUniform(_x.Value.Span, 0, 1);
        _labels = Enumerable.Range(0, BatchSize).Select(i => i % 10).ToArray();
    }

    [Benchmark]
    public void Step()
    {
        _optimizer.ZeroGrad();
        F.CrossEntropy(_model.Forward(_x), _labels).Backward();
        _optimizer.Step();
    }
}
