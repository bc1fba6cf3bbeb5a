using System.Text.Json;
using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Distributed;
using NormSharp.Errors;
using NormSharp.Experiments.Recipes.Tasks;
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
/// (metrics, fault guard, clipping, divergence detection, checkpoints, progress). It writes
/// <c>metrics.csv</c>, checkpoints, <c>model.safetensors</c> and <c>summary.json</c> into its folder; a run
/// resumed from its folder ends with exactly the weights the uninterrupted run would have had (same thread count).
/// </summary>
public sealed class RecipeRun
{
    private readonly TrainingConfig _config;
    private readonly string? _dir;
    private readonly ITrainingTask _task;
    private readonly Trainer<LabeledBatch> _trainer;
    private readonly ProgressReporter _progress = new();
    private LabeledBatch _lastBatch;

    /// <summary>
    /// Sets up a new run. <paramref name="data"/> may be null for tasks that generate their own data
    /// (adding, copy); <paramref name="outputDirectory"/> may be null for a run that writes nothing.
    /// </summary>
    /// <remarks>
    /// With <paramref name="dataParallel"/> the run trains over several ranks: each takes its share of every batch;
    /// only rank 0 writes files (pass the same <paramref name="outputDirectory"/> on every rank).
    /// </remarks>
    public RecipeRun(TrainingConfig config, DatasetSplit? data, string? outputDirectory, DataParallel? dataParallel = null)
    {
        if (dataParallel is not null && config.Model == ModelKind.Rnn && config.Cell == CellKind.BnLstm)
            throw new InvalidValueException(nameof(config.Cell), "the bn-lstm cell keeps per-step running statistics that data-parallel ranks do not exchange; train it in one process (micro-batches work)");
        if (dataParallel is not null && config.NanPolicy == NanPolicy.Rollback)
            throw new InvalidValueException(nameof(config.NanPolicy), "the rollback policy is not supported in data-parallel runs (use stop or skip)");
        // Only the first rank writes the run's files; the others train without an output folder.
        if (dataParallel is { Rank: not 0 }) outputDirectory = null;
        ModelFactory.Validate(config);
        if (config.NanPolicy == NanPolicy.Rollback && outputDirectory is null)
            throw new InvalidValueException(nameof(config.NanPolicy), "the rollback policy needs an output folder to keep the checkpoints it rolls back to");
        _config = config;
        _dir = outputDirectory;
        _task = ModelFactory.CreateTask(config, data);
        ParallelFor.MaxThreads = config.Threads;
        var modelRng = new Rng(config.Seed);
        Model = _task.BuildModel(config, modelRng);
        var optimizer = ModelFactory.BuildOptimizer(config, Model);
        _trainer = new Trainer<LabeledBatch>(Model, optimizer, Loss)
        {
            Schedule = ModelFactory.BuildSchedule(config, TotalSteps),
            Evaluator = _task.Evaluate,
            // Held-out evaluations between epochs are logged rows; a run without a folder has nowhere to log them.
            EvaluateEvery = outputDirectory is null ? 0 : config.EvalEvery,
        };
        _trainer.CheckpointMetadata["config"] = JsonSerializer.Serialize(config);
        if (config.MicroBatches > 1 || dataParallel is not null)
        {
            _trainer.MicroBatches = config.MicroBatches;
            _trainer.Splitter = LabeledBatchSplitter.Instance;
        }
        if (dataParallel is not null)
            _trainer.DataParallel = new DataParallel(dataParallel.Communicator)
            {
                Order = dataParallel.Order,
                BucketBytes = dataParallel.BucketBytes,
                CheckInitialWeights = dataParallel.CheckInitialWeights,
                RunIdentity = RunIdentity(config, data),
            };
        _trainer.Add(new RngState("model_rng", modelRng));
        CheckpointManager? checkpoints = outputDirectory is null ? null : new CheckpointManager(outputDirectory, config.CheckpointEvery);
        if (outputDirectory is not null)
        {
            var hidden = Model is ISequenceModel seq ? new HiddenStateNorms(seq) : null;
            if (hidden is not null) _trainer.Add(hidden);
            _trainer.Add(new MetricsCsvLogger(Path.Combine(outputDirectory, "metrics.csv"), hidden is null ? [] : [hidden]));
        }
        _trainer.Add(new NanGuard(config.NanPolicy, checkpoints) { LocateLossFault = Model is Mlp mlp ? () => FirstNonFiniteLayer(mlp) : null });
        if (config.ClipNorm > 0) _trainer.Add(new GradientClipper(config.ClipNorm));
        // The loss of a small batch is noisy: judge explosions over a window of at least ~2048 samples.
        _trainer.Add(new DivergenceDetector(Math.Clamp((2048 + config.BatchSize - 1) / config.BatchSize, 20, 1000)));
        if (checkpoints is not null) _trainer.Add(checkpoints);
        _trainer.Add(_progress);
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>The run's configuration.</summary>
    public TrainingConfig Config => _config;

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

    /// <summary>Reads the configuration stored in a run folder's checkpoint (to load its data before <see cref="Resume"/>).</summary>
    public static TrainingConfig ReadConfig(string directory)
    {
        string path = Path.Combine(directory, Checkpoint.FileName);
        return ConfigOf(Checkpoint.Load(path), path);
    }

    /// <summary>Continues the run stored in <paramref name="directory"/> with its own configuration.</summary>
    /// <remarks>
    /// Settings that are not part of the run's identity may change on resume: <paramref name="threads"/>,
    /// <paramref name="microBatches"/>, and the number of ranks (<paramref name="dataParallel"/>).
    /// </remarks>
    public static RecipeRun Resume(string directory, DatasetSplit? data, DataParallel? dataParallel = null, int? threads = null, int? microBatches = null)
    {
        string path = Path.Combine(directory, Checkpoint.FileName);
        var cp = Checkpoint.Load(path);
        var config = ConfigOf(cp, path);
        config = config with { Threads = threads ?? config.Threads, MicroBatches = microBatches ?? config.MicroBatches };
        var run = new RecipeRun(config, data, directory, dataParallel);
        run._trainer.LoadCheckpoint(cp, path);
        return run;
    }

    private static TrainingConfig ConfigOf(Checkpoint cp, string path)
    {
        try
        {
            return cp.RequireJson<TrainingConfig>("config", path);
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(path, $"metadata 'config' is not a valid configuration: {e.Message}", e);
        }
    }

    /// <summary>
    /// What makes two processes the same run: the configuration without the settings that may differ between
    /// ranks or resumes (threads, micro-batches, output cadence), and a fingerprint of the training data.
    /// </summary>
    public static string RunIdentity(TrainingConfig config, DatasetSplit? data)
    {
        var neutral = config with { Threads = 1, MicroBatches = 1, CheckpointEvery = 0, EvalEvery = 0 };
        string fingerprint = "generated";
        if (data is not null)
        {
            using var h = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            h.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Train.Images.Span));
            h.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Train.Labels.AsSpan()));
            fingerprint = $"{data.Train.Count}:{Convert.ToHexString(h.GetHashAndReset())}";
        }
        return JsonSerializer.Serialize(neutral) + "|" + fingerprint;
    }

    /// <summary>Mean loss and accuracy of the current model on the task's held-out data.</summary>
    public EvaluationResult Evaluate() => _task.Evaluate(Model);

    /// <summary>Runs to the end (or until <paramref name="cancel"/> asks to stop: the current step finishes and a checkpoint is written).</summary>
    public RunSummary Run(CancellationToken cancel = default)
    {
        var fit = _trainer.Fit(_task.Loader, _config.Epochs, cancel);
        var test = _task.Evaluate(Model);
        var summary = new RunSummary
        {
            Dataset = _config.Dataset,
            Norm = Spelling.Of(_config.Norm),
            Model = ModelFactory.Describe(Model),
            BatchSize = _config.BatchSize,
            Epochs = fit.Epochs,
            Steps = fit.Steps,
            FinalTrainLoss = fit.FinalTrainLoss,
            TestLoss = test.Loss,
            TestAccuracy = test.Accuracy,
            SamplesPerSecond = fit.SamplesPerSecond,
            Diverged = fit.Diverged,
            StopReason = fit.StopReason,
            Seed = _config.Seed,
            Threads = _config.Threads,
        };
        if (_dir is not null)
        {
            if (!fit.Diverged) SafetensorsWriter.Write(Path.Combine(_dir, "model.safetensors"), Model.StateDict(),
                new Dictionary<string, string> { ["format"] = "pt", ["model"] = ModelFactory.Describe(Model), ["norm"] = Spelling.Of(_config.Norm) });
            summary.WriteAtomically(Path.Combine(_dir, "summary.json"));
        }
        return summary;
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
