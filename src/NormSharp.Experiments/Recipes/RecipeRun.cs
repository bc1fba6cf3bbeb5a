using System.Text.Json;
using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Distributed;
using NormSharp.Errors;
using NormSharp.Experiments.Recipes.Tasks;
using NormSharp.IO;
using NormSharp.IO.Safetensors;
using NormSharp.Kernels;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;
using NormSharp.Threading;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// A built-in training run as a <see cref="TrainingConfig"/> describes it, on the general
/// <see cref="Trainer{TBatch}"/>: the task's model, loader and loss, with the parts a run folder needs
/// (metrics, fault guard, clipping, divergence detection, checkpoints, progress). In its folder it writes
/// <c>run.json</c> (identity and configuration) when it starts, then <c>metrics.csv</c>, checkpoints, and at the
/// end <c>summary.json</c> (however the run ends) and <c>model.safetensors</c> (only when it finished). The folder
/// is locked while the run is set up and trained (<see cref="RunFolderLock"/>); a run resumed from its folder
/// ends with exactly the weights the uninterrupted run would have had (same thread count).
/// </summary>
public sealed class RecipeRun : IDisposable
{
    private readonly TrainingConfig _config;
    private readonly string? _dir;
    private readonly ITrainingTask _task;
    private readonly Trainer<LabeledBatch> _trainer;
    private readonly ProgressReporter _progress = new();
    private readonly MetricsCsvLogger? _metrics;
    private RunFolderLock? _lock;
    private LabeledBatch _lastBatch;
    private bool _ran;

    private enum Opening { New, Resume }

    /// <summary>
    /// Sets up a new run. <paramref name="data"/> may be null for tasks that generate their own data (adding,
    /// copy); <paramref name="outputDirectory"/> may be null for a run that writes nothing. A folder that holds
    /// another run's work is refused (<see cref="RunFolderOccupiedException"/>); one that holds this very run,
    /// stopped before its first checkpoint, is started again from scratch.
    /// </summary>
    /// <remarks>
    /// With <paramref name="dataParallel"/> the run trains over several ranks: each takes its share of every batch;
    /// only rank 0 writes files and locks the folder (pass the same <paramref name="outputDirectory"/> on every rank).
    /// <paramref name="log"/> hears what is found in the folder (a restart, leftover temporary files).
    /// </remarks>
    public RecipeRun(TrainingConfig config, DatasetSplit? data, string? outputDirectory, DataParallel? dataParallel = null, Action<string>? log = null)
        : this(config, data, outputDirectory, Opening.New, null, dataParallel, log)
    {
    }

    private RecipeRun(TrainingConfig config, DatasetSplit? data, string? folder, Opening opening, RunManifest? manifest, DataParallel? dataParallel, Action<string>? log)
    {
        if (dataParallel is not null && config.Model == ModelKind.Rnn && config.Cell == CellKind.BnLstm)
            throw new InvalidValueException(nameof(config.Cell), "the bn-lstm cell keeps per-step running statistics that data-parallel ranks do not exchange; train it in one process (micro-batches work)");
        if (dataParallel is not null && config.NanPolicy == NanPolicy.Rollback)
            throw new InvalidValueException(nameof(config.NanPolicy), "the rollback policy is not supported in data-parallel runs (use stop or skip)");
        config = Normalize(config);
        if (folder is not null) RunFolder.CheckPath(folder);
        // Only the first rank writes the run's files; the others train without an output folder (and read a resumed run's checkpoint).
        string? outputDirectory = dataParallel is { Rank: not 0 } ? null : folder;
        if (config.NanPolicy == NanPolicy.Rollback && outputDirectory is null)
            throw new InvalidValueException(nameof(config.NanPolicy), "the rollback policy needs an output folder to keep the checkpoints it rolls back to");
        _config = config;
        _dir = outputDirectory is null ? null : Path.GetFullPath(outputDirectory);
        _task = ModelFactory.CreateTask(config, data);
        // Refused before anything is allocated for the model or written into the folder.
        _task.EstimateMemory(config).EnsureFits(MemoryEstimate.AvailableBytes());
        Identity = RunIdentity.Of(config, data);
        if (_dir is not null)
        {
            _lock = RunFolderLock.Acquire(_dir);
            try
            {
                if (opening == Opening.New) RunFolder.PrepareNew(_dir, Identity, _config, log);
                else RunFolder.PrepareResumed(_dir, manifest, Identity, _config, log);
            }
            catch
            {
                Dispose();
                throw;
            }
        }
        try
        {
            ParallelFor.MaxThreads = config.Threads;
            var modelRng = new Rng(config.Seed);
            Model = _task.BuildModel(config, modelRng);
            var optimizer = ModelFactory.BuildOptimizer(config, Model);
            _trainer = new Trainer<LabeledBatch>(Model, optimizer, Loss)
            {
                Schedule = ModelFactory.BuildSchedule(config, TotalSteps),
                Evaluator = EvaluatorFor(config),
                // Held-out evaluations between epochs are logged rows; a run without a folder has nowhere to log them.
                EvaluateEvery = _dir is null ? 0 : config.EvalEvery,
                RunIdentity = Identity,
            };
            _trainer.CheckpointMetadata["config"] = JsonSerializer.Serialize(config);
            if (config.MicroBatches > 1 || dataParallel is not null)
            {
                _trainer.MicroBatches = config.MicroBatches;
                _trainer.Splitter = LabeledBatchSplitter.Instance;
            }
            // Every collective of a data-parallel run (gradients, SyncBatchNorm statistics) is counted for the metrics log.
            var meter = dataParallel is null ? null : new MeteredCommunicator(dataParallel.Communicator);
            if (dataParallel is not null) _trainer.DataParallel = dataParallel.With(meter!, Identity);
            _trainer.Add(new RngState("model_rng", modelRng));
            _trainer.Add(_lastEpochEvaluation);
            CheckpointManager? checkpoints = _dir is null ? null : new CheckpointManager(_dir, config.CheckpointEvery);
            if (_dir is not null)
            {
                var hidden = Model is ISequenceModel seq ? new HiddenStateNorms(seq) : null;
                if (hidden is not null) _trainer.Add(hidden);
                var weights = config.WeightMetricsEvery > 0 ? new WeightUpdateMetrics(Model, config.WeightMetricsEvery) : null;
                if (weights is not null) _trainer.Add(weights);
                // Logged by every run (zeros in one process) so a run resumes on any number of ranks.
                var communication = new CommunicationMetrics(meter);
                _trainer.Add(communication);
                var workers = new WorkerShareMetrics();
                _trainer.Add(workers);
                _metrics = new MetricsCsvLogger(Path.Combine(_dir, "metrics.csv"), [.. new IStepMetrics?[] { hidden, weights, communication, workers }.OfType<IStepMetrics>()]);
                _trainer.Add(_metrics);
            }
            _trainer.Add(new NanGuard(config.NanPolicy, checkpoints) { LocateLossFault = Model is Mlp mlp ? () => FirstNonFiniteLayer(mlp) : null });
            if (config.ClipNorm > 0) _trainer.Add(new GradientClipper(config.ClipNorm));
            // The loss of a small batch is noisy: judge explosions over a window of at least ~2048 samples.
            _trainer.Add(new DivergenceDetector(Math.Clamp((2048 + config.BatchSize - 1) / config.BatchSize, 20, 1000)) { ChanceLoss = _task.ChanceLoss });
            if (checkpoints is not null) _trainer.Add(checkpoints);
            _trainer.Add(_progress);
            if (opening == Opening.Resume)
            {
                // Every rank continues from the checkpoint (rank 0's state is then broadcast); only rank 0 keeps writing.
                var stored = checkpoints ?? new CheckpointManager(folder!);
                if (stored.Exists) stored.Restore(_trainer, log);
                else log?.Invoke($"{folder} has no checkpoint yet: starting from step 0");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// The trainer's evaluator: the task's full held-out evaluation, except that with <see cref="TrainingConfig.EvalLimit"/>
    /// the checks between epochs score only that many held-out samples (at an epoch's end no batch of the next has run yet).
    /// </summary>
    private Func<Module, EvaluationResult> EvaluatorFor(TrainingConfig config)
    {
        if (config.EvalLimit <= 0) return _task.Evaluate;
        return model => _trainer.State.BatchesIntoEpoch == 0 ? _task.Evaluate(model) : _task.Evaluate(model, config.EvalLimit);
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>The run's configuration (with absolute paths).</summary>
    public TrainingConfig Config => _config;

    /// <summary>The run's identity: a hash of its configuration and data (<see cref="RunIdentity"/>).</summary>
    public string Identity { get; }

    /// <summary>The run folder (absolute), or null for a run that writes nothing.</summary>
    public string? Directory => _dir;

    /// <summary>The general trainer underneath.</summary>
    public Trainer<LabeledBatch> Trainer => _trainer;

    /// <summary>Reported after every step, at each epoch's end and with every notice.</summary>
    public event Action<TrainingProgress>? Progress
    {
        add => _progress.Progress += value;
        remove => _progress.Progress -= value;
    }

    /// <summary>Steps the whole run takes.</summary>
    public long TotalSteps => (long)_task.Loader.BatchesPerEpoch * _config.Epochs;

    /// <summary>
    /// The configuration of the run stored in <paramref name="directory"/> (to load its data before
    /// <see cref="Resume"/>): from its <c>run.json</c>, or else from its newest readable checkpoint.
    /// </summary>
    public static TrainingConfig ReadConfig(string directory) => RunFolder.ReadManifest(directory).Config;

    /// <summary>
    /// Continues the run stored in <paramref name="directory"/> with its own configuration, from its newest intact
    /// checkpoint (a damaged newer one is moved aside with a warning through <paramref name="log"/>), or from step 0
    /// when it never reached one. <paramref name="dataDirectory"/>, when given, is where the run's data now lies
    /// (it must be the same data: the run's identity is checked).
    /// </summary>
    /// <remarks>
    /// Settings that are not part of the run's identity may change on resume: <paramref name="threads"/>,
    /// <paramref name="microBatches"/>, and the number of ranks (<paramref name="dataParallel"/>).
    /// </remarks>
    public static RecipeRun Resume(string directory, DatasetSplit? data, DataParallel? dataParallel = null, int? threads = null, int? microBatches = null,
        Action<string>? log = null, string? dataDirectory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var manifest = RunFolder.ReadManifest(directory);
        var config = manifest.Config with
        {
            DataDir = dataDirectory ?? manifest.Config.DataDir,
            Threads = threads ?? manifest.Config.Threads,
            MicroBatches = microBatches ?? manifest.Config.MicroBatches,
        };
        return new RecipeRun(config, data, directory, Opening.Resume, manifest, dataParallel, log);
    }

    /// <summary>The configuration as a run stores it: checked, with its data folder made absolute.</summary>
    public static TrainingConfig Normalize(TrainingConfig config)
    {
        ModelFactory.Validate(config);
        return config.DataDir is null ? config : config with { DataDir = Path.GetFullPath(config.DataDir) };
    }

    /// <summary>Mean loss and accuracy of the current model on the task's held-out data.</summary>
    public EvaluationResult Evaluate() => _task.Evaluate(Model);

    /// <summary>
    /// Runs to the end, until a part stops the run, or until <paramref name="cancel"/> asks to stop (the current
    /// step finishes and a checkpoint is written). Writes <c>summary.json</c> however the run ends (with the error
    /// when it fails, then rethrows), <c>model.safetensors</c> only when it finished, and releases the folder.
    /// A run is run once.
    /// </summary>
    public RunSummary Run(CancellationToken cancel = default)
    {
        if (_ran) throw new InvalidOperationException("RecipeRun.Run: this run has already run; resume it from its folder instead.");
        _ran = true;
        try
        {
            var fit = _trainer.Fit(_task.Loader, _config.Epochs, cancel);
            string status = fit.Diverged ? RunSummary.DivergedStatus : fit.WasInterrupted ? RunSummary.Interrupted : RunSummary.Finished;
            // An interrupted run is about to exit (a signal's grace period is short): no test pass for it. A run that ended
            // at an epoch's end was scored on the whole held-out set there, with these very weights.
            var test = status == RunSummary.Interrupted ? new EvaluationResult(double.NaN, double.NaN)
                : _lastEpochEvaluation.Step == fit.Steps && _lastEpochEvaluation.Result is { } scored ? scored : _task.Evaluate(Model);
            var summary = Summary(status, fit.Epochs, fit.Steps, fit.FinalTrainLoss, test, fit.SamplesPerSecond, fit.StopReason);
            if (_dir is not null)
            {
                if (status == RunSummary.Finished) SafetensorsWriter.Write(Path.Combine(_dir, "model.safetensors"), Model.StateDict(),
                    new Dictionary<string, string> { ["format"] = "pt", ["model"] = ModelFactory.Describe(Model), ["norm"] = Spelling.Of(_config.Norm) });
                summary.WriteAtomically(Path.Combine(_dir, "summary.json"));
            }
            return summary;
        }
        catch (Exception e) when (_dir is not null)
        {
            TryWriteFailure(e);
            throw;
        }
        finally
        {
            Dispose();
        }
    }

    private RunSummary Summary(string status, int epochs, long steps, double finalTrainLoss, EvaluationResult test, double samplesPerSecond, string? stopReason) => new()
    {
        Status = status,
        Dataset = _config.Dataset,
        Norm = Spelling.Of(_config.Norm),
        Model = ModelFactory.Describe(Model),
        BatchSize = _config.BatchSize,
        Epochs = epochs,
        Steps = steps,
        FinalTrainLoss = finalTrainLoss,
        TestLoss = test.Loss,
        TestAccuracy = test.Accuracy,
        SamplesPerSecond = samplesPerSecond,
        Diverged = status == RunSummary.DivergedStatus,
        StopReason = stopReason,
        Seed = _config.Seed,
        Threads = _config.Threads,
        SubnormalValues = status == RunSummary.Failed ? null : NormSharp.Training.SubnormalCensus.Of(Model, _trainer.Optimizer).Total,
    };

    /// <summary>Records a run that ended with an error; a second failure here (a disk that is still full) must not hide the first.</summary>
    private void TryWriteFailure(Exception e)
    {
        try
        {
            var state = _trainer.State;
            Summary(RunSummary.Failed, state.Epoch, state.Step, double.IsNaN(state.LastEpochLoss) ? state.EpochLossSoFar : state.LastEpochLoss,
                new EvaluationResult(double.NaN, double.NaN), 0, $"{e.GetType().Name}: {e.Message}").WriteAtomically(Path.Combine(_dir!, "summary.json"));
        }
        catch (Exception)
        {
            // Nothing more can be saved; the original error is what the caller must see.
        }
    }

    /// <summary>Closes the metrics file and releases the run folder (done by <see cref="Run"/> when it returns).</summary>
    public void Dispose()
    {
        _metrics?.Dispose();
        _lock?.Dispose();
        _lock = null;
    }

    private StepLoss Loss(Module model, LabeledBatch batch)
    {
        _lastBatch = batch;
        return _task.Loss(model, batch);
    }

    /// <summary>Re-runs the forward pass layer by layer to name where a non-finite activation first appears.</summary>
    private string FirstNonFiniteLayer(Mlp mlp)
    {
        using var _ = GradMode.NoGrad();
        var x = Variable.Constant(_lastBatch.Inputs);
        for (int i = 0; i < mlp.Layers.Layers.Count; i++)
        {
            x = mlp.Layers.Layers[i].Forward(x);
            if (!ElementwiseKernels.AllFinite(x.Value.Span)) return $" (first non-finite activation: output of layers.{i}, {mlp.Layers.Layers[i]})";
        }
        return "";
    }

    private readonly EpochEvaluation _lastEpochEvaluation = new();

    /// <summary>The evaluation at the last epoch's end and the step it was made after (the final score, when no step followed).</summary>
    private sealed class EpochEvaluation : ITrainerCallback
    {
        public long Step { get; private set; } = -1;

        public EvaluationResult? Result { get; private set; }

        public void OnEpochEnd(EpochContext epoch) => (Step, Result) = (epoch.Step, epoch.Evaluation);
    }

    /// <summary>
    /// The mean hidden-state norm per time step of the training forward pass, as metrics columns <c>h_norm:t</c>.
    /// Read right after the forward pass, since an evaluation later in the step runs the model again.
    /// </summary>
    private sealed class HiddenStateNorms(ISequenceModel model) : IStepMetrics, ITrainerCallback
    {
        private readonly double[] _norms = Enumerable.Repeat(double.NaN, model.Steps).ToArray();

        public IReadOnlyList<string> Columns { get; } = Enumerable.Range(0, model.Steps).Select(t => $"h_norm:{t}").ToArray();

        public void OnLoss(StepContext step)
        {
            var norms = model.Rnn.LastHiddenNorms;
            for (int t = 0; t < _norms.Length; t++) _norms[t] = t < norms.Length ? norms[t] : double.NaN;
        }

        public void Measure(StepContext step, Span<double> values) => _norms.CopyTo(values);
    }
}
