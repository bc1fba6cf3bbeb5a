using System.Globalization;

namespace NormSharp.Training;

/// <summary>
/// Writes the run's metrics to a CSV file: a <c>step</c> row per step (loss, accuracy, learning rate, global
/// and per-layer gradient norms, step time, any <see cref="IStepMetrics"/> columns), an <c>eval</c> row per
/// evaluation between epochs, an <c>epoch</c> row per epoch (mean loss, held-out loss and accuracy). Its
/// checkpoint state is the file's length, so a resumed run continues the file exactly where the checkpoint was.
/// </summary>
public sealed class MetricsCsvLogger : ITrainerCallback, ICheckpointState, IDisposable
{
    /// <summary>The fixed leading columns.</summary>
    public static readonly string[] BaseColumns = ["kind", "epoch", "step", "loss", "accuracy", "lr", "grad_norm", "step_ms", "step_cpu_ms", "test_loss", "test_accuracy"];

    private const int Kind = 0, EpochCol = 1, StepCol = 2, LossCol = 3, AccuracyCol = 4, LrCol = 5, GradNormCol = 6, StepMsCol = 7, StepCpuMsCol = 8, TestLossCol = 9, TestAccuracyCol = 10;

    private readonly IStepMetrics[] _extras;
    private readonly double[][] _extraValues;
    private MetricsLog? _log;
    private long? _resumeLength;
    private long _closedLength;
    private int _layerStart, _extraStart;
    private string[] _columns = [];

    /// <summary>Logs to <paramref name="path"/> (its folder is created), with <paramref name="extras"/> appended to step rows.</summary>
    public MetricsCsvLogger(string path, params IStepMetrics[] extras)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        _extras = extras;
        _extraValues = extras.Select(e => new double[e.Columns.Count]).ToArray();
    }

    /// <summary>The CSV file.</summary>
    public string Path { get; }

    /// <summary>Whether per-layer gradient norms are logged (one <c>grad_norm:LAYER</c> column each).</summary>
    public bool LayerGradientNorms { get; init; } = true;

    /// <inheritdoc />
    public string StateKey => "metrics_bytes";

    /// <inheritdoc />
    public string SaveState() => (_log?.Length ?? _closedLength).ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void LoadState(string state)
    {
        if (!long.TryParse(state, NumberStyles.Integer, CultureInfo.InvariantCulture, out long length) || length < 0)
            throw new Errors.InvalidValueException(nameof(state), $"MetricsCsvLogger: the saved length '{state}' is not a byte count.");
        _resumeLength = length;
        if (_log is not null)
        {
            // A rollback in the middle of a fit: cut the file back to the checkpoint's rows.
            _log.Dispose();
            _log = MetricsLog.Continue(Path, _columns, length);
        }
    }

    /// <inheritdoc />
    public void OnFitStart(Trainer trainer)
    {
        var layers = LayerGradientNorms ? trainer.Gradients.LayerNames : [];
        _layerStart = BaseColumns.Length;
        _extraStart = _layerStart + layers.Count;
        _columns = [.. BaseColumns, .. layers.Select(l => "grad_norm:" + l), .. _extras.SelectMany(e => e.Columns)];
        if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) is { } dir) Directory.CreateDirectory(dir);
        _log?.Dispose();
        _log = trainer.State.Step > 0 && _resumeLength is { } length && File.Exists(Path)
            ? MetricsLog.Continue(Path, _columns, length)
            : MetricsLog.Create(Path, _columns);
    }

    /// <inheritdoc />
    public void OnStepEnd(StepContext step)
    {
        var log = _log!;
        log.Set(Kind, "step");
        log.Set(EpochCol, step.Epoch);
        log.Set(StepCol, step.Step);
        log.Set(LossCol, step.Loss);
        // A loss function that scores nothing (a regression) has no accuracy: the cell stays empty.
        if (step.Scored > 0) log.Set(AccuracyCol, step.Accuracy);
        log.Set(LrCol, step.LearningRate);
        log.Set(GradNormCol, step.Gradients.Global);
        log.Set(StepMsCol, step.Elapsed.TotalMilliseconds);
        log.Set(StepCpuMsCol, step.CpuMilliseconds);
        if (LayerGradientNorms)
        {
            var norms = step.Gradients.PerLayer;
            for (int i = 0; i < norms.Length; i++) log.Set(_layerStart + i, norms[i]);
        }
        int column = _extraStart;
        for (int e = 0; e < _extras.Length; e++)
        {
            var values = _extraValues[e];
            _extras[e].Measure(step, values);
            for (int i = 0; i < values.Length; i++) log.Set(column++, values[i]);
        }
        log.Commit();
        if (step.Evaluation is { } eval)
        {
            log.Set(Kind, "eval");
            log.Set(EpochCol, step.Epoch);
            log.Set(StepCol, step.Step);
            log.Set(TestLossCol, eval.Loss);
            log.Set(TestAccuracyCol, eval.Accuracy);
            log.Commit();
        }
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochContext epoch)
    {
        var log = _log!;
        log.Set(Kind, "epoch");
        log.Set(EpochCol, epoch.Epoch);
        log.Set(StepCol, epoch.Step);
        log.Set(LossCol, epoch.MeanLoss);
        log.Set(LrCol, epoch.LearningRate);
        if (epoch.Evaluation is { } eval)
        {
            log.Set(TestLossCol, eval.Loss);
            log.Set(TestAccuracyCol, eval.Accuracy);
        }
        log.Commit();
    }

    /// <inheritdoc />
    public void OnFitEnd(Trainer trainer, FitResult result) => Dispose();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_log is null) return;
        // Parts after this one may still checkpoint at the fit's end: they need the final length.
        _closedLength = _log.Length;
        _log.Dispose();
        _log = null;
    }
}
