namespace NormSharp.Training;

/// <summary>
/// Calls a run diverged when its loss stops being a number, or when the loss smoothed over a window
/// has grown by <see cref="Factor"/> over the best smoothed loss seen: the "exploding loss" that
/// precedes NaNs at too-large learning rates.
/// </summary>
public sealed class DivergenceDetector
{
    private readonly double[] _window;
    private int _count;
    private double _sum;
    private double _best = double.PositiveInfinity;

    /// <summary>Growth factor of the smoothed loss over its best value that counts as divergence.</summary>
    public double Factor { get; }

    /// <summary>Creates the detector with a window of <paramref name="window"/> steps.</summary>
    public DivergenceDetector(int window = 20, double factor = 10.0)
    {
        if (window < 1) throw new Errors.InvalidValueException(nameof(window), $"DivergenceDetector: window must be at least 1, got {window}.");
        if (!(factor > 1)) throw new Errors.InvalidValueException(nameof(factor), $"DivergenceDetector: factor must exceed 1, got {factor}.");
        _window = new double[window];
        Factor = factor;
    }

    /// <summary>Feeds one step's loss; returns a reason when the run has diverged, else null.</summary>
    public string? Observe(double loss)
    {
        if (!double.IsFinite(loss)) return $"the loss became {loss}";
        int slot = _count % _window.Length;
        if (_count >= _window.Length) _sum -= _window[slot];
        _window[slot] = loss;
        _sum += loss;
        _count++;
        if (_count < _window.Length) return null;
        double smoothed = _sum / _window.Length;
        if (smoothed < _best) _best = smoothed;
        // A floor keeps a loss that has gone to ~0 from calling tiny wiggles an explosion.
        double reference = Math.Max(_best, 1e-3);
        return smoothed > Factor * reference
            ? $"the loss averaged over {_window.Length} steps rose to {smoothed:G4}, {smoothed / reference:F1}× its best ({_best:G4})"
            : null;
    }
}
