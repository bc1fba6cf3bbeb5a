using System.Globalization;
using System.Text.Json;

namespace NormSharp.Training;

/// <summary>
/// Calls a run diverged when its loss stops being a number, or when the loss smoothed over a window has
/// exploded: risen above <see cref="Factor"/> × the run's scale, the larger of the first step's loss (the
/// untrained model's) and the <see cref="ChanceLoss"/> the caller may give (ln of the number of classes for a
/// classifier). Before the window has filled, the smoothed loss is the mean of the steps so far, so a jump in
/// the second step (2.4 → 3.7e7) is caught at once; and because the scale is the run's own, a loss that has
/// fallen near zero and wiggles back up tenfold (0.005 → 0.05, late in a healthy run) is no explosion.
/// As a trainer part it watches every step's loss as soon as it is known (before the backward pass) and
/// reports an explosion with <see cref="Trainer.ReportFault"/> (a <see cref="NanGuard"/> may roll back;
/// without one the run stops as diverged). It also keeps the best smoothed loss, by which
/// <see cref="CheckpointManager"/> judges a checkpoint good. Its memory is saved in checkpoints.
/// </summary>
public sealed class DivergenceDetector : ITrainerCallback, ICheckpointState
{
    private readonly double[] _window;
    private int _count;
    private double _best = double.PositiveInfinity;
    private double _initial = double.NaN;

    /// <summary>Creates the detector smoothing over <paramref name="window"/> steps, calling an explosion at <paramref name="factor"/>× the run's scale.</summary>
    public DivergenceDetector(int window = 20, double factor = 10.0)
    {
        if (window < 1) throw new Errors.InvalidValueException(nameof(window), $"DivergenceDetector: window must be at least 1, got {window}.");
        if (!(factor > 1) || double.IsInfinity(factor)) throw new Errors.InvalidValueException(nameof(factor), $"DivergenceDetector: factor must be a finite number above 1, got {factor}.");
        _window = new double[window];
        Factor = factor;
    }

    /// <summary>How many times the run's scale the smoothed loss must exceed to count as an explosion.</summary>
    public double Factor { get; }

    /// <summary>Steps the loss is smoothed over.</summary>
    public int Window => _window.Length;

    /// <summary>
    /// The loss of a model that has learned nothing (ln C for C classes, the targets' variance for a regression),
    /// or NaN when unknown. With it, a run whose first loss happens to be tiny is still judged on a sensible scale.
    /// </summary>
    public double ChanceLoss
    {
        get;
        init => field = double.IsNaN(value) || (value > 0 && double.IsFinite(value)) ? value
            : throw new Errors.InvalidValueException(nameof(ChanceLoss), $"DivergenceDetector: the chance loss must be a positive finite number (or NaN for unknown), got {value}.");
    } = double.NaN;

    /// <summary>The loss of the first step observed (NaN before it).</summary>
    public double InitialLoss => _initial;

    /// <summary>The run's scale: the larger of <see cref="InitialLoss"/> and <see cref="ChanceLoss"/> (NaN before the first step when no chance loss is known).</summary>
    public double Scale => double.IsNaN(_initial) ? ChanceLoss : double.IsNaN(ChanceLoss) ? _initial : Math.Max(_initial, ChanceLoss);

    /// <summary>Mean loss of the last <see cref="Window"/> steps (of the steps so far while fewer); NaN before the first.</summary>
    public double SmoothedLoss
    {
        get
        {
            int n = Math.Min(_count, _window.Length);
            if (n == 0) return double.NaN;
            double sum = 0;
            // Summed afresh each time: a running sum would keep the rounding error of a huge loss long gone from the window.
            for (int i = 0; i < n; i++) sum += _window[i];
            return sum / n;
        }
    }

    /// <summary>The lowest <see cref="SmoothedLoss"/> seen (NaN before the first step).</summary>
    public double BestSmoothedLoss => double.IsPositiveInfinity(_best) ? double.NaN : _best;

    /// <summary>Losses observed.</summary>
    public int Count => _count;

    /// <summary>The detector's memory, for checkpoints.</summary>
    /// <param name="Window">The last losses, in ring order.</param>
    /// <param name="Count">Losses observed.</param>
    /// <param name="Best">Best smoothed loss (null while none).</param>
    /// <param name="Initial">The first loss (null while none).</param>
    /// <param name="Factor">Explosion factor.</param>
    public sealed record State(double[] Window, int Count, double? Best, double? Initial, double Factor);

    /// <summary>The current state.</summary>
    public State GetState() => new((double[])_window.Clone(), _count, double.IsInfinity(_best) ? null : _best, double.IsNaN(_initial) ? null : _initial, Factor);

    /// <summary>A detector continuing from <paramref name="state"/> (with no chance loss; use <see cref="LoadState"/> on a configured one to keep it).</summary>
    public static DivergenceDetector FromState(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var d = new DivergenceDetector(state.Window.Length, state.Factor);
        d.Restore(state);
        return d;
    }

    /// <summary>Feeds one step's loss; returns a reason when the run has diverged, else null.</summary>
    public string? Observe(double loss)
    {
        if (!double.IsFinite(loss)) return $"the loss became {loss.ToString(CultureInfo.InvariantCulture)}";
        if (_count == 0) _initial = loss;
        _window[_count % _window.Length] = loss;
        _count++;
        double smoothed = SmoothedLoss;
        if (smoothed < _best) _best = smoothed;
        double scale = Scale;
        if (!(scale > 0) || !(smoothed > Factor * scale)) return null;
        int n = Math.Min(_count, _window.Length);
        string basis = double.IsNaN(ChanceLoss) ? $"its first loss {_initial:G4}"
            : $"the larger of its first loss {_initial:G4} and the chance-level loss {ChanceLoss:G4}";
        return $"the loss exploded: averaged over the last {n} step{(n == 1 ? "" : "s")} it rose to {smoothed:G4}, {smoothed / scale:G3}× the run's scale ({basis}; the limit is {Factor:G3}×)";
    }

    /// <inheritdoc />
    public void OnLoss(StepContext step)
    {
        if (Observe(step.Loss) is not { } why) return;
        var kind = double.IsFinite(step.Loss) ? TrainingFaultKind.ExplodingLoss : TrainingFaultKind.NonFiniteLoss;
        step.Trainer.ReportFault(step, new TrainingFault(kind, $"{why} at step {step.Step}"));
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
        Restore(s);
    }

    private void Restore(State s)
    {
        s.Window.CopyTo(_window, 0);
        _count = s.Count;
        _best = s.Best ?? double.PositiveInfinity;
        _initial = s.Initial ?? double.NaN;
    }
}
