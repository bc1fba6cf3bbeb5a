using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.IO.Safetensors;
using NormSharp.Kernels;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Threading;

namespace NormSharp.Training;

/// <summary>
/// Trains a classifier on a <see cref="DatasetSplit"/> as a <see cref="TrainingConfig"/> says, writing
/// <c>metrics.csv</c> (every step and every epoch), checkpoints, <c>model.safetensors</c> and
/// <c>summary.json</c> into its output folder. A run resumed from its folder ends with exactly the
/// weights the uninterrupted run would have had (same thread count).
/// </summary>
public sealed class Trainer
{
    private readonly TrainingConfig _config;
    private readonly string? _dir;
    private readonly Rng _modelRng;
    private readonly Optimizer _optimizer;
    private readonly Tasks.ITrainingTask _task;
    private readonly LearningRateSchedule _schedule;
    private readonly (string Group, Variable[] Parameters)[] _groups;
    private readonly NanPolicy _nanPolicy;
    private DivergenceDetector _divergence;
    private long _step;
    private double _epochLossSum;
    private long _epochLossCount;
    private double _lrScale = 1.0;
    private double _lastEpochLoss = double.NaN;
    private double? _lastTestAccuracy;
    private long _metricsLength;

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>The run's configuration.</summary>
    public TrainingConfig Config => _config;

    /// <summary>Reported after every step and at each epoch's end.</summary>
    public event Action<TrainingProgress>? Progress;

    /// <summary>Steps the whole run takes.</summary>
    public long TotalSteps => (long)_task.BatchesPerEpoch * _config.Epochs;

    /// <summary>
    /// Sets up a new run. <paramref name="data"/> may be null for tasks that generate their own data
    /// (adding, copy); <paramref name="outputDirectory"/> may be null for a run that writes nothing.
    /// </summary>
    public Trainer(TrainingConfig config, DatasetSplit? data, string? outputDirectory)
    {
        ModelFactory.Validate(config);
        _config = config;
        _nanPolicy = ModelFactory.ParseNanPolicy(config.NanPolicy);
        _task = ModelFactory.CreateTask(config, data);
        // The loss of a small batch is noisy: judge explosions over a window of at least ~2048 samples.
        _divergence = new DivergenceDetector(Math.Clamp((2048 + config.BatchSize - 1) / config.BatchSize, 20, 1000));
        _dir = outputDirectory;
        ParallelFor.MaxThreads = config.Threads;
        _modelRng = new Rng(config.Seed);
        Model = _task.BuildModel(config, _modelRng);
        _optimizer = ModelFactory.BuildOptimizer(config, Model.Parameters());
        _schedule = ModelFactory.BuildSchedule(config, TotalSteps);
        _groups = Model.NamedParameters()
            .GroupBy(p => p.Name.Contains('.') ? p.Name[..p.Name.LastIndexOf('.')] : p.Name)
            .Select(g => (g.Key, g.Select(p => p.Parameter).ToArray()))
            .ToArray();
    }

    /// <summary>Reads the configuration stored in a run folder's checkpoint (to load its data before <see cref="Resume"/>).</summary>
    public static TrainingConfig ReadConfig(string directory)
    {
        string path = Path.Combine(directory, Checkpoint.FileName);
        var cp = Checkpoint.Load(path);
        return cp.RequireJson<TrainingConfig>("config", path);
    }

    /// <summary>Continues the run stored in <paramref name="directory"/> with its own configuration.</summary>
    public static Trainer Resume(string directory, DatasetSplit? data)
    {
        string path = Path.Combine(directory, Checkpoint.FileName);
        var cp = Checkpoint.Load(path);
        var config = cp.RequireJson<TrainingConfig>("config", path);
        var trainer = new Trainer(config, data, directory);
        trainer.LoadCheckpoint(cp, path);
        return trainer;
    }

    /// <summary>Runs to the end (or until <paramref name="cancel"/> asks to stop: the current step finishes and a checkpoint is written).</summary>
    public RunSummary Run(CancellationToken cancel = default)
    {
        MetricsLog? metrics = null;
        if (_dir is not null)
        {
            Directory.CreateDirectory(_dir);
            string metricsPath = Path.Combine(_dir, "metrics.csv");
            metrics = _step > 0 && File.Exists(metricsPath)
                ? MetricsLog.Continue(metricsPath, MetricColumns(), _metricsLength)
                : MetricsLog.Create(metricsPath, MetricColumns());
        }
        try
        {
            return RunSteps(ref metrics, cancel);
        }
        finally
        {
            metrics?.Dispose();
        }
    }

    private RunSummary RunSteps(ref MetricsLog? metrics, CancellationToken cancel)
    {
        // Rolling back needs somewhere to roll back to, even before the first scheduled checkpoint.
        if (_nanPolicy == NanPolicy.Rollback && _step == 0) SaveCheckpoint(metrics);
        var trainTime = new Stopwatch();
        long samples = 0;
        string? stopReason = null;
        bool diverged = false;
        double smoothed = double.NaN;
        int consecutiveSkips = 0;
        var groupNorms = new double[_groups.Length];

        while (_task.Epoch < _config.Epochs && stopReason is null)
        {
            if (!_task.Next())
            {
                EndEpoch(metrics, _task.Epoch - 1);
                continue;
            }
            var sw = Stopwatch.StartNew();
            trainTime.Start();
            int count = _task.Count;
            double lr = _config.LearningRate * _lrScale * _schedule.Factor(_step);
            _optimizer.LearningRate = lr;
            _optimizer.ZeroGrad();
            // A step whose backward was skipped (a fault) leaves its graph behind; each step starts clean.
            Tape.Current.Reset();
            var loss = _task.Loss(Model, out int correct, out int scored);
            double lossValue = loss.Item();
            string? fault = null;
            if (!double.IsFinite(lossValue)) fault = $"non-finite loss {lossValue} at step {_step + 1}{FirstNonFiniteLayer()}";
            double globalNorm = 0;
            if (fault is null)
            {
                loss.Backward();
                for (int g = 0; g < _groups.Length; g++)
                {
                    double s = 0;
                    foreach (var p in _groups[g].Parameters)
                        if (p.HasGrad) s += ElementwiseKernels.SumSquares(p.Grad!.Span);
                    groupNorms[g] = Math.Sqrt(s);
                    globalNorm += s;
                }
                globalNorm = Math.Sqrt(globalNorm);
                if (!double.IsFinite(globalNorm)) fault = $"non-finite gradient at step {_step + 1} in {FirstNonFiniteGradient()}";
            }
            if (fault is not null)
            {
                trainTime.Stop();
                switch (_nanPolicy)
                {
                    case NanPolicy.Skip when ++consecutiveSkips < 10:
                        Report(lossValue, smoothed, $"skipped step: {fault}");
                        continue;
                    case NanPolicy.Rollback when _dir is not null && File.Exists(Path.Combine(_dir, Checkpoint.FileName)) && _lrScale > 1e-3:
                        {
                            string path = Path.Combine(_dir, Checkpoint.FileName);
                            LoadCheckpoint(Checkpoint.Load(path), path);
                            _lrScale *= 0.5;
                            metrics?.Dispose();
                            metrics = MetricsLog.Continue(Path.Combine(_dir, "metrics.csv"), MetricColumns(), _metricsLength);
                            Report(lossValue, smoothed, $"rolled back to step {_step} with the learning rate halved: {fault}");
                            continue;
                        }
                    default:
                        diverged = true;
                        stopReason = fault;
                        continue;
                }
            }
            consecutiveSkips = 0;
            // The global norm was just measured over every parameter group; clipping reuses it instead of reading the gradients again.
            if (_config.ClipNorm > 0) GradientClipping.ScaleToNorm(_optimizer.Parameters, globalNorm, _config.ClipNorm);
            _optimizer.Step();
            trainTime.Stop();
            _step++;
            samples += count;
            _epochLossSum += lossValue * count;
            _epochLossCount += count;
            smoothed = double.IsNaN(smoothed) ? lossValue : 0.95 * smoothed + 0.05 * lossValue;

            if (metrics is not null)
            {
                metrics.Set("kind", "step");
                metrics.Set("epoch", _task.Epoch);
                metrics.Set("step", _step);
                metrics.Set("loss", lossValue);
                metrics.Set("accuracy", (double)correct / Math.Max(1, scored));
                metrics.Set("lr", lr);
                metrics.Set("grad_norm", globalNorm);
                metrics.Set("step_ms", sw.Elapsed.TotalMilliseconds);
                for (int g = 0; g < _groups.Length; g++) metrics.Set("grad_norm:" + _groups[g].Group, groupNorms[g]);
                if (Model is ISequenceModel seq)
                {
                    var norms = seq.Rnn.LastHiddenNorms;
                    for (int t = 0; t < norms.Length; t++) metrics.Set(HiddenNormColumn(t), norms[t]);
                }
                metrics.Commit();
            }
            if (_divergence.Observe(lossValue) is { } why)
            {
                diverged = true;
                stopReason = why;
            }
            if (_config.EvalEvery > 0 && _step % _config.EvalEvery == 0 && metrics is not null)
            {
                var (evalLoss, evalAccuracy) = _task.Evaluate(Model);
                metrics.Set("kind", "eval");
                metrics.Set("epoch", _task.Epoch);
                metrics.Set("step", _step);
                metrics.Set("test_loss", evalLoss);
                metrics.Set("test_accuracy", evalAccuracy);
                metrics.Commit();
            }
            if (_config.CheckpointEvery > 0 && _step % _config.CheckpointEvery == 0 && !diverged) SaveCheckpoint(metrics);
            Report(lossValue, smoothed, null);
            if (cancel.IsCancellationRequested && stopReason is null)
            {
                if (!diverged) SaveCheckpoint(metrics);
                stopReason = "interrupted";
            }
        }

        var (testLoss, testAccuracy) = _task.Evaluate(Model);
        var summary = new RunSummary
        {
            Dataset = _config.Dataset,
            Norm = _config.Norm,
            Model = ModelFactory.Describe(Model),
            BatchSize = _config.BatchSize,
            Epochs = Math.Min(_task.Epoch, _config.Epochs),
            Steps = _step,
            FinalTrainLoss = double.IsNaN(_lastEpochLoss) ? (_epochLossCount > 0 ? _epochLossSum / _epochLossCount : double.NaN) : _lastEpochLoss,
            TestLoss = testLoss,
            TestAccuracy = testAccuracy,
            SamplesPerSecond = trainTime.Elapsed.TotalSeconds > 0 ? samples / trainTime.Elapsed.TotalSeconds : 0,
            Diverged = diverged,
            StopReason = stopReason,
            Seed = _config.Seed,
            Threads = _config.Threads,
        };
        if (_dir is not null)
        {
            if (!diverged) SafetensorsWriter.Write(Path.Combine(_dir, "model.safetensors"), Model.StateDict(),
                new Dictionary<string, string> { ["format"] = "pt", ["model"] = ModelFactory.Describe(Model), ["norm"] = _config.Norm });
            WriteJsonAtomically(Path.Combine(_dir, "summary.json"), summary);
        }
        return summary;
    }

    private void EndEpoch(MetricsLog? metrics, int epoch)
    {
        _lastEpochLoss = _epochLossCount > 0 ? _epochLossSum / _epochLossCount : double.NaN;
        var (testLoss, testAccuracy) = _task.Evaluate(Model);
        _lastTestAccuracy = testAccuracy;
        if (metrics is not null)
        {
            metrics.Set("kind", "epoch");
            metrics.Set("epoch", epoch);
            metrics.Set("step", _step);
            metrics.Set("loss", _lastEpochLoss);
            metrics.Set("lr", _optimizer.LearningRate);
            metrics.Set("test_loss", testLoss);
            metrics.Set("test_accuracy", testAccuracy);
            metrics.Commit();
        }
        _epochLossSum = 0;
        _epochLossCount = 0;
        SaveCheckpoint(metrics);
        Report(_lastEpochLoss, _lastEpochLoss, $"epoch {epoch + 1}: train loss {_lastEpochLoss:F4}, test accuracy {testAccuracy:P2}");
    }

    /// <summary>Mean loss and accuracy of the current model on the task's held-out data.</summary>
    public (double Loss, double Accuracy) Evaluate() => _task.Evaluate(Model);

    private void Report(double loss, double smoothed, string? message) =>
        Progress?.Invoke(new TrainingProgress(Math.Min(_task.Epoch, _config.Epochs - 1), _config.Epochs, _step, TotalSteps, loss, smoothed, _lastTestAccuracy, message));

    private IReadOnlyList<string> MetricColumns() =>
    [
        "kind", "epoch", "step", "loss", "accuracy", "lr", "grad_norm", "step_ms", "test_loss", "test_accuracy",
        .. _groups.Select(g => "grad_norm:" + g.Group),
        .. Enumerable.Range(0, Model is ISequenceModel s ? s.Steps : 0).Select(HiddenNormColumn),
    ];

    private static readonly string[] HiddenNormColumns = Enumerable.Range(0, 1024).Select(t => $"h_norm:{t}").ToArray();

    /// <summary>The column of the mean hidden-state norm at time step <paramref name="t"/> (cached names: no allocation per step).</summary>
    private static string HiddenNormColumn(int t) => t < HiddenNormColumns.Length ? HiddenNormColumns[t] : $"h_norm:{t}";

    /// <summary>Re-runs the forward pass layer by layer to name where a non-finite activation first appears.</summary>
    private string FirstNonFiniteLayer()
    {
        if (Model is not Mlp mlp) return "";
        using var _ = GradMode.NoGrad();
        var x = Variable.Constant(_task.Inputs);
        for (int i = 0; i < mlp.Layers.Layers.Count; i++)
        {
            x = mlp.Layers.Layers[i].Forward(x);
            if (!ElementwiseKernels.AllFinite(x.Value.Span)) return $" (first non-finite activation: output of layers.{i}, {mlp.Layers.Layers[i]})";
        }
        return "";
    }

    private string FirstNonFiniteGradient()
    {
        foreach (var (name, p) in Model.NamedParameters())
            if (p.HasGrad && !ElementwiseKernels.AllFinite(p.Grad!.Span)) return name;
        return "an unknown parameter";
    }

    private void SaveCheckpoint(MetricsLog? metrics)
    {
        if (_dir is null) return;
        _metricsLength = metrics?.Length ?? 0;
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, t) in Model.StateDict()) tensors.Add(("model." + name, t));
        foreach (var (name, t) in _optimizer.StateTensors()) tensors.Add(("optim." + name, t));
        var meta = new Dictionary<string, string>
        {
            ["format"] = "normsharp-checkpoint-1",
            ["config"] = JsonSerializer.Serialize(_config),
            ["step"] = _step.ToString(CultureInfo.InvariantCulture),
            ["loader"] = JsonSerializer.Serialize(_task.GetState()),
            ["model_rng"] = JsonSerializer.Serialize(_modelRng.GetState()),
            ["optimizer"] = JsonSerializer.Serialize(_optimizer.StateScalars()),
            ["epoch_loss_sum"] = _epochLossSum.ToString("R", CultureInfo.InvariantCulture),
            ["epoch_loss_count"] = _epochLossCount.ToString(CultureInfo.InvariantCulture),
            ["last_epoch_loss"] = _lastEpochLoss.ToString("R", CultureInfo.InvariantCulture),
            ["lr_scale"] = _lrScale.ToString("R", CultureInfo.InvariantCulture),
            ["metrics_bytes"] = _metricsLength.ToString(CultureInfo.InvariantCulture),
            ["divergence"] = JsonSerializer.Serialize(_divergence.GetState()),
        };
        new Checkpoint { Tensors = tensors, Metadata = meta }.Save(Path.Combine(_dir, Checkpoint.FileName));
    }

    private void LoadCheckpoint(Checkpoint cp, string source)
    {
        foreach (var (name, t) in Model.StateDict())
        {
            var stored = cp.RequireTensor("model." + name, source);
            if (!stored.Shape.SequenceEqual(t.Shape))
                throw new CorruptFileException(source, $"tensor model.{name} has shape {ShapeMismatchException.Format(stored.Shape)} but this model needs {ShapeMismatchException.Format(t.Shape)} (a checkpoint from another architecture?).");
            t.CopyFrom(stored);
        }
        foreach (var (name, t) in _optimizer.StateTensors())
        {
            var stored = cp.RequireTensor("optim." + name, source);
            if (!stored.Shape.SequenceEqual(t.Shape))
                throw new CorruptFileException(source, $"optimizer tensor {name} has shape {ShapeMismatchException.Format(stored.Shape)}, expected {ShapeMismatchException.Format(t.Shape)}.");
            t.CopyFrom(stored);
        }
        _optimizer.LoadStateScalars(cp.RequireJson<Dictionary<string, long>>("optimizer", source));
        _task.SetState(cp.RequireJson<LoaderState>("loader", source));
        _modelRng.SetState(cp.RequireJson<ulong[]>("model_rng", source));
        _step = long.Parse(cp.Require("step", source), CultureInfo.InvariantCulture);
        _epochLossSum = double.Parse(cp.Require("epoch_loss_sum", source), CultureInfo.InvariantCulture);
        _epochLossCount = long.Parse(cp.Require("epoch_loss_count", source), CultureInfo.InvariantCulture);
        _lastEpochLoss = double.Parse(cp.Require("last_epoch_loss", source), CultureInfo.InvariantCulture);
        _lrScale = double.Parse(cp.Require("lr_scale", source), CultureInfo.InvariantCulture);
        _metricsLength = long.Parse(cp.Require("metrics_bytes", source), CultureInfo.InvariantCulture);
        _divergence = DivergenceDetector.FromState(cp.RequireJson<DivergenceDetector.State>("divergence", source));
    }

    private static void WriteJsonAtomically<T>(string path, T value)
    {
        string temp = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, path, overwrite: true);
    }
}
