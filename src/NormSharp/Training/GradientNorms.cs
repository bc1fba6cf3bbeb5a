using NormSharp.Autograd;
using NormSharp.Kernels;
using NormSharp.Layers;

namespace NormSharp.Training;

/// <summary>
/// The L2 norms of a step's gradients, per layer (parameters grouped by the module that owns them, e.g.
/// <c>layers.0</c> for <c>layers.0.weight</c> and <c>layers.0.bias</c>) and over all parameters. Measured in
/// one pass over the gradients the first time a part asks in a step, and shared by every part that asks
/// (fault guard, clipping, metrics), so the gradients are read once.
/// </summary>
public sealed class GradientNorms
{
    private readonly (string Layer, Variable[] Parameters)[] _layers;
    private readonly double[] _norms;
    private double _global;
    private bool _measured;

    /// <summary>Groups <paramref name="model"/>'s parameters by owning module.</summary>
    public GradientNorms(Module model)
    {
        _layers = ParameterLayers.Of(model);
        _norms = new double[_layers.Length];
        LayerNames = _layers.Select(l => l.Layer).ToArray();
    }

    /// <summary>The layers, in the order of the model's parameters.</summary>
    public IReadOnlyList<string> LayerNames { get; }

    /// <summary>The norm over every parameter's gradient (parameters without a gradient count as zero).</summary>
    public double Global
    {
        get
        {
            Measure();
            return _global;
        }
    }

    /// <summary>Per-layer norms, in the order of <see cref="LayerNames"/>.</summary>
    public ReadOnlySpan<double> PerLayer
    {
        get
        {
            Measure();
            return _norms;
        }
    }

    /// <summary>Forgets the last measurement (the trainer calls it after each backward pass).</summary>
    internal void Invalidate() => _measured = false;

    private void Measure()
    {
        if (_measured) return;
        double total = 0;
        for (int g = 0; g < _layers.Length; g++)
        {
            double s = 0;
            foreach (var p in _layers[g].Parameters)
                if (p.HasGrad) s += ElementwiseKernels.SumSquares(p.Grad!.Span);
            _norms[g] = Math.Sqrt(s);
            total += s;
        }
        _global = Math.Sqrt(total);
        _measured = true;
    }
}
