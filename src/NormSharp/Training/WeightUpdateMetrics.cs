using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Kernels;

namespace NormSharp.Training;

/// <summary>
/// Per-layer weight norms ‖W‖ and relative updates ‖ΔW‖/‖W‖ as metrics columns (<c>weight_norm:LAYER</c> and
/// <c>update_ratio:LAYER</c>, layers as in <see cref="GradientNorms"/>), for <see cref="MetricsCsvLogger"/>.
/// ΔW is what the optimizer step changed, so the ratio is the step's effective learning rate relative to the
/// weights' scale: with a normalization that makes a layer invariant to the scale of its weights, ‖W‖ grows
/// and the same gradient moves the function less (the implicit learning-rate reduction of Ba et al. 2016,
/// Section 5.2). Measured every <see cref="Every"/> steps (other steps' cells are NaN): each measured step
/// copies the parameters once before the update, which costs one pass over them.
/// </summary>
/// <example>
/// <code>
/// var weights = new WeightUpdateMetrics(model, every: 10);
/// trainer.Add(weights).Add(new MetricsCsvLogger("run/metrics.csv", weights));
/// </code>
/// </example>
public sealed class WeightUpdateMetrics : ITrainerCallback, IStepMetrics
{
    private readonly (string Layer, Variable[] Parameters)[] _layers;
    private readonly float[][][] _before;
    private bool _captured;

    /// <summary>Measures <paramref name="model"/>'s layers every <paramref name="every"/> steps (the first step included).</summary>
    public WeightUpdateMetrics(Layers.Module model, long every = 1)
    {
        if (every < 1) throw new InvalidValueException(nameof(every), $"WeightUpdateMetrics: every must be at least 1 step, got {every}.");
        _layers = ParameterLayers.Of(model);
        _before = _layers.Select(l => l.Parameters.Select(p => new float[p.Value.Length]).ToArray()).ToArray();
        Every = every;
        Columns = [.. _layers.Select(l => "weight_norm:" + l.Layer), .. _layers.Select(l => "update_ratio:" + l.Layer)];
    }

    /// <summary>Steps between measurements.</summary>
    public long Every { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Whether step <paramref name="step"/> (1-based) is measured.</summary>
    public bool Measures(long step) => (step - 1) % Every == 0;

    /// <inheritdoc />
    public void OnStepStart(StepContext step) => _captured = false;

    /// <inheritdoc />
    public void OnBackward(StepContext step)
    {
        // The last moment before the optimizer moves the weights.
        if (!Measures(step.Step) || step.Skipped) return;
        for (int g = 0; g < _layers.Length; g++)
            for (int i = 0; i < _layers[g].Parameters.Length; i++)
                _layers[g].Parameters[i].Value.Span.CopyTo(_before[g][i]);
        _captured = true;
    }

    /// <inheritdoc />
    public void Measure(StepContext step, Span<double> values)
    {
        int n = _layers.Length;
        if (!_captured)
        {
            values.Fill(double.NaN);
            return;
        }
        for (int g = 0; g < n; g++)
        {
            double weights = 0, change = 0;
            for (int i = 0; i < _layers[g].Parameters.Length; i++)
            {
                var now = _layers[g].Parameters[i].Value.Span;
                weights += ElementwiseKernels.SumSquares(now);
                change += ElementwiseKernels.SquaredDistance(now, _before[g][i]);
            }
            double norm = Math.Sqrt(weights);
            values[g] = norm;
            values[n + g] = norm > 0 ? Math.Sqrt(change) / norm : double.NaN;
        }
    }
}
