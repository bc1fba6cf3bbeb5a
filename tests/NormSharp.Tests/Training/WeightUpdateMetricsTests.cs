using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

/// <summary>The per-layer weight norms and relative updates a trainer part logs (the paper's Section 5.2 quantities).</summary>
public class WeightUpdateMetricsTests
{
    private sealed record Batch(Tensor X, Tensor Y);

    /// <summary>Records what the part measures at every step's end, with each layer's gradient norm and weights at that moment.</summary>
    private sealed class Recorder(WeightUpdateMetrics metrics, Sequential model) : ITrainerCallback
    {
        public List<(long Step, double[] Values, double[] GradNorms, double[] WeightNorms)> Rows { get; } = [];

        public void OnStepEnd(StepContext step)
        {
            var values = new double[metrics.Columns.Count];
            metrics.Measure(step, values);
            var layers = model.NamedParameters().GroupBy(p => p.Name[..p.Name.IndexOf('.')]).ToList();
            double Norm(IEnumerable<float> v) => Math.Sqrt(v.Sum(x => (double)x * x));
            Rows.Add((step.Step, values,
                layers.Select(g => Norm(g.SelectMany(p => p.Parameter.Grad!.Span.ToArray()))).ToArray(),
                layers.Select(g => Norm(g.SelectMany(p => p.Parameter.Value.Span.ToArray()))).ToArray()));
        }
    }

    private static List<Batch> Batches(int count, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var x = Tensor.Zeros(8, 5);
            var y = Tensor.Zeros(8, 2);
            rng.FillNormal(x.Span, 0, 1);
            rng.FillNormal(y.Span, 0, 1);
            return new Batch(x, y);
        }).ToList();
    }

    [Fact]
    public void WithPlainSgdTheRelativeUpdateIsTheRateTimesTheGradientOverTheWeights()
    {
        var model = new Sequential(new Linear(5, 6, new Rng(1)), new Tanh(), new Linear(6, 2, new Rng(2)));
        const double lr = 0.1;
        var metrics = new WeightUpdateMetrics(model, every: 2);
        var recorder = new Recorder(metrics, model);
        var trainer = new Trainer<Batch>(model, new Sgd(model.Parameters(), lr), (m, b) => F.Mse(m.Forward(Variable.Constant(b.X)), b.Y));
        trainer.Add(metrics).Add(recorder);
        trainer.Fit(Batches(5, 3), epochs: 1);

        Assert.Equal(["weight_norm:0", "weight_norm:2", "update_ratio:0", "update_ratio:2"], metrics.Columns);
        Assert.Equal(5, recorder.Rows.Count);
        foreach (var (step, values, grads, weights) in recorder.Rows)
        {
            if (!metrics.Measures(step))
            {
                Assert.All(values, v => Assert.True(double.IsNaN(v)));
                continue;
            }
            for (int layer = 0; layer < 2; layer++)
            {
                Assert.Equal(weights[layer], values[layer], 1e-6 * weights[layer]);
                // SGD without momentum moves the weights by exactly lr·g (float32 rounding aside).
                Assert.Equal(lr * grads[layer] / weights[layer], values[2 + layer], 1e-4 * values[2 + layer]);
            }
        }
        Assert.Equal([1L, 3, 5], recorder.Rows.Where(r => metrics.Measures(r.Step)).Select(r => r.Step));
    }

    [Fact]
    public void ASkippedStepIsNotMeasuredAndEveryMustBePositive()
    {
        Assert.Throws<InvalidValueException>(() => new WeightUpdateMetrics(new Linear(2, 2, new Rng(1)), every: 0));
        var model = new Sequential(new Linear(5, 2, new Rng(1)));
        var metrics = new WeightUpdateMetrics(model);
        var values = new double[metrics.Columns.Count];
        // Measured before any backward pass: nothing was captured, so nothing is claimed.
        metrics.OnStepStart(null!);
        metrics.Measure(null!, values);
        Assert.All(values, v => Assert.True(double.IsNaN(v)));
    }
}
