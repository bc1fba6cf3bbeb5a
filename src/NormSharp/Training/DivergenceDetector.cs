using System.Text.Json;

namespace NormSharp.Training;

/// <summary>
/// Calls a run diverged when its loss stops being a number, or when the loss smoothed over a window
/// has grown by <see cref="Factor"/> over the best smoothed loss seen: the "exploding loss" that
/// precedes NaNs at too-large learning rates. As a trainer part it watches every step's loss and stops
/// the run as diverged; its window is saved in checkpoints.
/// </summary>
public sealed class DivergenceDetector : ITrainerCallback, ICheckpointState
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

    /// <summary>The detector's memory, for checkpoints.</summary>
    /// <param name="Window">The last losses, in ring order.</param>
    /// <param name="Count">Losses observed.</param>
    /// <param name="Sum">Sum of the window.</param>
    /// <param name="Best">Best smoothed loss (null while none).</param>
    /// <param name="Factor">Growth factor.</param>
    public sealed record State(double[] Window, int Count, double Sum, double? Best, double Factor);

    /// <summary>The current state.</summary>
    public State GetState() => new((double[])_window.Clone(), _count, _sum, double.IsInfinity(_best) ? null : _best, Factor);

    /// <summary>A detector continuing from <paramref name="state"/>.</summary>
    public static DivergenceDetector FromState(State state)
    {
        var d = new DivergenceDetector(state.Window.Length, state.Factor);
        state.Window.CopyTo(d._window, 0);
        d._count = state.Count;
        d._sum = state.Sum;
        d._best = state.Best ?? double.PositiveInfinity;
        return d;
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

    /// <inheritdoc />
    public void OnStepEnd(StepContext step)
    {
        if (Observe(step.Loss) is { } why) step.Trainer.RequestStop(why, diverged: true);
    }

    /// <inheritdoc />
    public string StateKey => "divergence";

    /// <inheritdoc />
    public string SaveState() => JsonSerializer.Serialize(GetState());

    /// <inheritdoc />
    public void LoadState(string state)
    {
        State? s;
        try
        {
            s = JsonSerializer.Deserialize<State>(state);
        }
        catch (JsonException e)
        {
            throw new Errors.InvalidValueException(nameof(state), $"DivergenceDetector: the saved state is not valid: {e.Message}");
        }
        if (s is null || s.Window is null || s.Window.Length != _window.Length || s.Count < 0)
            throw new Errors.InvalidValueException(nameof(state), $"DivergenceDetector: the saved state does not fit a window of {_window.Length} steps.");
        s.Window.CopyTo(_window, 0);
        _count = s.Count;
        _sum = s.Sum;
        _best = s.Best ?? double.PositiveInfinity;
    }
}
