using System.Diagnostics;
using System.Text.Json;
using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Data.Text;
using NormSharp.Distributed;
using NormSharp.Errors;
using NormSharp.IO;
using NormSharp.IO.Safetensors;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Layers.Transformer;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Threading;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// A character-level language-modelling run as a <see cref="TrainingConfig"/> describes it (task
/// <see cref="SequenceTask.CharLm"/>, a Transformer or recurrent model) on the general <see cref="Trainer{TBatch}"/>:
/// the vocabulary of the training text, shuffled windows of <see cref="TrainingConfig.Context"/> characters, the
/// mean cross-entropy, and held-out evaluation on the validation text in bits per character. Its folder is handled
/// as every recipe's (<c>run.json</c>, a lock while it trains, checkpoints kept and verified, <c>summary.json</c>
/// however the run ends, <c>model.safetensors</c> only when it finished), and receives <c>vocabulary.json</c> at the
/// start (the vocabulary is in every checkpoint too). A run resumed from its folder continues with its own settings
/// and vocabulary and ends with the weights of an uninterrupted run.
/// </summary>
public sealed class CharLmRun : IDisposable
{
    /// <summary>File name of the vocabulary inside a run folder.</summary>
    public const string VocabularyFile = "vocabulary.json";

    /// <summary>File name of the final weights inside a run folder.</summary>
    public const string ModelFile = "model.safetensors";

    /// <summary>File name of the summary inside a run folder.</summary>
    public const string SummaryFile = "summary.json";

    private const string VocabularyKey = "vocabulary";

    private readonly TrainingConfig _config;
    private readonly string? _dir;
    private readonly string _corpusName;
    private readonly Trainer<CharBatch> _trainer;
    private readonly CharSequenceLoader _loader;
    private readonly CharSequenceLoader _validation;
    private readonly CheckpointManager? _checkpoints;
    private readonly StepLimit? _limit;
    private readonly MetricsCsvLogger? _metrics;
    private readonly ProgressReporter _progress = new();
    private readonly RecentLoss _recent = new(100);
    private readonly int _epochs;
    private readonly bool _leader;
    private RunFolderLock? _lock;
    private bool _ran;

    /// <summary>
    /// Sets up a new run on <paramref name="corpus"/> (its training text gives the vocabulary);
    /// <paramref name="outputDirectory"/> may be null for a run that writes nothing. A folder holding another run's
    /// work is refused (<see cref="RunFolderOccupiedException"/>).
    /// </summary>
    /// <exception cref="InvalidValueException">A setting is out of range, or the texts are shorter than one window.</exception>
    public CharLmRun(TrainingConfig config, TextCorpus corpus, string? outputDirectory, Action<string>? log = null)
        : this(config, corpus, outputDirectory, null, null, null, log)
    {
    }

    /// <summary>
    /// Sets up a new run trained over the ranks of <paramref name="dataParallel"/>: each rank takes its share of every
    /// batch, and only rank 0 writes files and locks the folder (pass the same <paramref name="outputDirectory"/> on
    /// every rank).
    /// </summary>
    /// <exception cref="InvalidValueException">A setting is out of range, or the texts are shorter than one window.</exception>
    public CharLmRun(TrainingConfig config, TextCorpus corpus, string? outputDirectory, DataParallel? dataParallel, Action<string>? log = null)
        : this(config, corpus, outputDirectory, null, null, dataParallel, log)
    {
    }

    private CharLmRun(TrainingConfig config, TextCorpus corpus, string? folder, RunManifest? resumeFrom, CharVocabulary? vocabulary, DataParallel? dataParallel, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        config = RecipeRun.Normalize(config);
        if (!ModelFactory.IsLanguageModel(config))
            throw new InvalidValueException(nameof(config.Task), $"CharLmRun trains the char-lm task, not {Spelling.Of(config.Task)}");
        if (dataParallel is not null && config.NanPolicy == NanPolicy.Rollback)
            throw new InvalidValueException(nameof(config.NanPolicy), "the rollback policy restores checkpoints that only rank 0 writes; use stop or skip with data-parallel training");
        // Only the first rank writes the run's files; the others train without an output folder (and read a resumed run's checkpoint).
        string? outputDirectory = dataParallel is { Rank: not 0 } ? null : folder;
        _leader = dataParallel is not { Rank: not 0 };
        if (config.NanPolicy == NanPolicy.Rollback && outputDirectory is null)
            throw new InvalidValueException(nameof(config.NanPolicy), "the rollback policy needs an output folder to keep the checkpoints it rolls back to");
        if (outputDirectory is not null) RunFolder.CheckPath(outputDirectory);
        corpus.RequireContext(config.Context);
        _config = config;
        _dir = outputDirectory is null ? null : Path.GetFullPath(outputDirectory);
        _corpusName = corpus.Name;
        Vocabulary = vocabulary ?? CharVocabulary.Build(corpus.Train);
        Identity = RunIdentity.Of(config, corpus);
        if (_dir is not null)
        {
            _lock = RunFolderLock.Acquire(_dir);
            try
            {
                if (resumeFrom is null)
                {
                    RunFolder.PrepareNew(_dir, Identity, _config, log);
                    AtomicFile.WriteAllText(Path.Combine(_dir, VocabularyFile), Vocabulary.ToJson());
                }
                else RunFolder.PrepareResumed(_dir, resumeFrom, Identity, _config, log);
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
            Model = BuildModel(config, Vocabulary.Size, modelRng);
            _loader = new CharSequenceLoader(Vocabulary.Encode(corpus.Train), config.Context, config.BatchSize, config.Seed);
            _validation = new CharSequenceLoader(Vocabulary.Encode(corpus.Validation), config.Context, config.BatchSize, config.Seed, shuffle: false);
            TotalSteps = config.Steps > 0 ? config.Steps : (long)_loader.BatchesPerEpoch * config.Epochs;
            _epochs = config.Steps > 0 ? (int)Math.Min(int.MaxValue, (config.Steps + _loader.BatchesPerEpoch - 1) / _loader.BatchesPerEpoch) : config.Epochs;

            _trainer = new Trainer<CharBatch>(Model, BuildOptimizer(config, Model), Loss)
            {
                Schedule = ModelFactory.BuildSchedule(config, TotalSteps),
                Evaluator = m => Evaluate(m, config.EvalWindows),
                EvaluateEvery = _dir is null ? 0 : config.EvalEvery,
                RunIdentity = Identity,
            };
            if (config.MicroBatches > 1 || dataParallel is not null)
            {
                _trainer.MicroBatches = config.MicroBatches;
                _trainer.Splitter = CharBatchSplitter.Instance;
            }
            // Every collective of a data-parallel run is counted for the metrics log.
            var meter = dataParallel is null ? null : new MeteredCommunicator(dataParallel.Communicator);
            if (dataParallel is not null) _trainer.DataParallel = dataParallel.With(meter!, Identity);
            _trainer.CheckpointMetadata["config"] = JsonSerializer.Serialize(config);
            _trainer.CheckpointMetadata[VocabularyKey] = Vocabulary.ToJson();
            _trainer.CheckpointMetadata["corpus"] = corpus.Name;
            _trainer.Add(new RngState("model_rng", modelRng));
            _checkpoints = _dir is null ? null : new CheckpointManager(_dir, config.CheckpointEvery);
            if (_dir is not null)
            {
                // Logged by every run (zeros in one process) so a run resumes on any number of ranks.
                var communication = new CommunicationMetrics(meter);
                _trainer.Add(communication);
                var workers = new WorkerShareMetrics();
                _trainer.Add(workers);
                _metrics = new MetricsCsvLogger(Path.Combine(_dir, "metrics.csv"), [communication, workers]);
                _trainer.Add(_metrics);
            }
            _trainer.Add(new NanGuard(config.NanPolicy, _checkpoints));
            if (config.ClipNorm > 0) _trainer.Add(new GradientClipper(config.ClipNorm));
            // Guessing uniformly over the vocabulary costs ln V nats a character: the scale an exploding loss is judged by.
            _trainer.Add(new DivergenceDetector(Math.Clamp((2048 + config.BatchSize - 1) / config.BatchSize, 20, 1000)) { ChanceLoss = Math.Log(Vocabulary.Size) });
            if (config.Steps > 0) _trainer.Add(_limit = new StepLimit(config.Steps));
            if (_checkpoints is not null) _trainer.Add(_checkpoints);
            _trainer.Add(_progress);
            _trainer.Add(_recent);
            if (resumeFrom is not null)
            {
                // Every rank continues from the checkpoint (rank 0's state is then broadcast); only rank 0 keeps writing.
                var stored = _checkpoints ?? new CheckpointManager(folder!);
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

    /// <summary>The model being trained (a <see cref="TransformerLanguageModel"/> or a <see cref="RecurrentLanguageModel"/>).</summary>
    public Module Model { get; }

    /// <summary>The characters the model knows.</summary>
    public CharVocabulary Vocabulary { get; }

    /// <summary>The run's configuration (with absolute paths).</summary>
    public TrainingConfig Config => _config;

    /// <summary>The run's identity: a hash of its configuration and texts.</summary>
    public string Identity { get; }

    /// <summary>The general trainer underneath.</summary>
    public Trainer<CharBatch> Trainer => _trainer;

    /// <summary>Steps the whole run takes.</summary>
    public long TotalSteps { get; }

    /// <summary>Reported after every step, at each epoch's end and with every notice.</summary>
    public event Action<TrainingProgress>? Progress
    {
        add => _progress.Progress += value;
        remove => _progress.Progress -= value;
    }

    /// <summary>The language model a configuration describes, for <paramref name="vocabularySize"/> ids; weights drawn from <paramref name="rng"/>.</summary>
    public static Module BuildModel(TrainingConfig c, int vocabularySize, Rng rng) => c.Model switch
    {
        ModelKind.Transformer => new TransformerLanguageModel(new TransformerLanguageModelOptions
        {
            VocabularySize = vocabularySize, ContextLength = c.Context, DModel = c.DModel, Layers = c.Layers, Heads = c.Heads,
            FeedForward = c.FeedForward > 0 ? c.FeedForward : 4 * c.DModel, Dropout = (float)c.Dropout,
            NormFirst = c.NormPosition == NormPosition.Pre, Norm = c.Norm, Activation = c.Activation,
        }, rng),
        ModelKind.Rnn => new RecurrentLanguageModel(c.Cell, vocabularySize, c.DModel, c.Hidden[0], c.Context, rng, c.Layers),
        _ => throw new InvalidValueException(nameof(c.Model), $"the char-lm task needs a transformer or an rnn model, not {Spelling.Of(c.Model)}"),
    };

    /// <summary>The optimizer; AdamW decays only parameters of rank two or more (weight matrices, embedding tables), not biases or normalization gains.</summary>
    private static Optimizer BuildOptimizer(TrainingConfig c, Module model) => c.Optimizer switch
    {
        OptimizerKind.AdamW => new AdamW(ParameterGroups.DecayWeightsOnly(model, c.WeightDecay == 0 ? 0.01 : c.WeightDecay), c.LearningRate),
        _ => ModelFactory.BuildOptimizer(c, model),
    };

    /// <summary>
    /// Continues the run stored in <paramref name="directory"/> with its own configuration and vocabulary, from its
    /// newest intact checkpoint (or from step 0 when it made none). <paramref name="corpus"/> must be the run's text
    /// (its identity is checked); <paramref name="threads"/> may change.
    /// </summary>
    public static CharLmRun Resume(string directory, TextCorpus corpus, int? threads = null, Action<string>? log = null) =>
        Resume(directory, corpus, null, threads, null, log);

    /// <summary>
    /// Continues the run stored in <paramref name="directory"/> as <see cref="Resume(string, TextCorpus, int?, Action{string}?)"/>
    /// does, over the ranks of <paramref name="dataParallel"/> (any number; null for one process) and with
    /// <paramref name="microBatches"/> if given: neither is part of the run's identity.
    /// </summary>
    public static CharLmRun Resume(string directory, TextCorpus corpus, DataParallel? dataParallel, int? threads = null, int? microBatches = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var manifest = RunFolder.ReadManifest(directory);
        var config = manifest.Config with
        {
            Threads = threads ?? manifest.Config.Threads,
            MicroBatches = microBatches ?? manifest.Config.MicroBatches,
        };
        return new CharLmRun(config, corpus, directory, manifest, ReadVocabulary(directory), dataParallel, log);
    }

    /// <summary>
    /// The vocabulary of the run in <paramref name="directory"/>: its <c>vocabulary.json</c>, or else the one stored
    /// in its newest readable checkpoint.
    /// </summary>
    /// <exception cref="CorruptFileException">The folder holds neither.</exception>
    public static CharVocabulary ReadVocabulary(string directory)
    {
        string path = Path.Combine(directory, VocabularyFile);
        if (File.Exists(path)) return CharVocabulary.FromJson(File.ReadAllText(path), path);
        foreach (var c in CheckpointManager.List(directory).Reverse())
        {
            try
            {
                var cp = Checkpoint.Load(c.Path);
                return CharVocabulary.FromJson(cp.Require(VocabularyKey, c.Path), c.Path);
            }
            catch (CorruptFileException)
            {
                // An older checkpoint may still hold it.
            }
        }
        throw new CorruptFileException(directory, $"the run has no {VocabularyFile} and no readable checkpoint holding its vocabulary.");
    }

    /// <summary>
    /// The trained model of a run folder, in evaluation mode, with its vocabulary: the final weights
    /// (<c>model.safetensors</c>) when the run finished, else those of its newest readable checkpoint.
    /// </summary>
    /// <exception cref="InvalidValueException">The folder holds a run that is not a language model.</exception>
    /// <exception cref="CorruptFileException">The folder holds no run, or its files are damaged.</exception>
    public static (ILanguageModel Model, CharVocabulary Vocabulary, TrainingConfig Config) LoadTrained(string directory)
    {
        var config = RunFolder.ReadManifest(directory).Config;
        if (!ModelFactory.IsLanguageModel(config))
            throw new InvalidValueException("run", $"{directory} holds a {Spelling.Of(config.Model)} run on {config.Dataset} ({Spelling.Of(config.Task)}), not a language model.");
        var vocabulary = ReadVocabulary(directory);
        var model = BuildModel(config, vocabulary.Size, new Rng(config.Seed));
        string final = Path.Combine(directory, ModelFile);
        if (File.Exists(final))
        {
            var f = SafetensorsFile.Read(final);
            model.LoadStateDict(f.Entries.Select(e => (e.Name, f.GetTensor(e.Name))));
        }
        else
        {
            var latest = CheckpointManager.Latest(directory)
                ?? throw new CorruptFileException(directory, $"the run has no {ModelFile} and no checkpoint: it has not trained yet.");
            var cp = Checkpoint.Load(latest.Path);
            model.LoadStateDict(cp.Tensors.Where(t => t.Name.StartsWith("model.", StringComparison.Ordinal)).Select(t => (t.Name["model.".Length..], t.Tensor)));
        }
        model.Eval();
        return ((ILanguageModel)model, vocabulary, config);
    }

    /// <summary>
    /// Mean cross-entropy (nats per character) of <paramref name="model"/> on the validation text, in evaluation mode
    /// without recording: consecutive windows from the start, at most <paramref name="maxWindows"/> of them (0: all).
    /// </summary>
    public EvaluationResult Evaluate(Module model, int maxWindows = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        var lm = (ILanguageModel)model;
        bool wasTraining = model.IsTraining;
        model.Eval();
        double sum = 0;
        long characters = 0;
        int windows = 0, context = _config.Context;
        try
        {
            using var _ = GradMode.NoGrad();
            _validation.SetState(new LoaderState(0, 0));
            while ((maxWindows == 0 || windows < maxWindows) && _validation.Next())
            {
                int count = maxWindows == 0 ? _validation.Count : Math.Min(_validation.Count, maxWindows - windows);
                int n = count * context;
                double loss = lm.Loss(_validation.Inputs.AsSpan(0, n), _validation.Targets.AsSpan(0, n), count).Item();
                sum += loss * n;
                characters += n;
                windows += count;
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return new EvaluationResult(sum / Math.Max(1, characters));
    }

    /// <summary>Characters scored by a full <see cref="Evaluate"/>.</summary>
    public long ValidationCharacters => (long)_validation.WindowsPerEpoch * _config.Context;

    /// <summary>
    /// Runs to the end, until a part stops the run, or until <paramref name="cancel"/> asks to stop (the current step
    /// finishes and a checkpoint is written). Writes <c>summary.json</c> however the run ends (with the error when it
    /// fails, then rethrows), <c>model.safetensors</c> only when it finished, and releases the folder. A run is run once.
    /// </summary>
    public LanguageModelSummary Run(CancellationToken cancel = default)
    {
        if (_ran) throw new InvalidOperationException("CharLmRun.Run: this run has already run; resume it from its folder instead.");
        _ran = true;
        var clock = Stopwatch.StartNew();
        try
        {
            var fit = _trainer.Fit(_loader, _epochs, cancel);
            string status = fit.Diverged ? RunSummary.DivergedStatus : fit.WasInterrupted ? RunSummary.Interrupted : RunSummary.Finished;
            // A run that ended between epochs (a step budget) has its last state saved here.
            if (status == RunSummary.Finished) _checkpoints?.Save(_trainer);
            // An interrupted run is about to exit (a signal's grace period is short): no validation pass for it; nor on
            // the ranks after the first, which report nothing.
            double validation = status == RunSummary.Finished && _leader ? Evaluate(Model).Loss : double.NaN;
            var summary = Summary(status, fit.Steps, _recent.Count > 0 ? _recent.Mean : fit.FinalTrainLoss, validation, fit.SamplesPerSecond, clock.Elapsed,
                fit.StopReason == _limit?.Reason ? null : fit.StopReason);
            if (_dir is not null)
            {
                if (status == RunSummary.Finished)
                    SafetensorsWriter.Write(Path.Combine(_dir, ModelFile), Model.StateDict(),
                        new Dictionary<string, string> { ["format"] = "pt", ["model"] = ModelFactory.Describe(Model), [VocabularyKey] = Vocabulary.ToJson() });
                summary.WriteAtomically(Path.Combine(_dir, SummaryFile));
            }
            return summary;
        }
        catch (Exception e) when (_dir is not null)
        {
            TryWriteFailure(e, clock.Elapsed);
            throw;
        }
        finally
        {
            Dispose();
        }
    }

    private LanguageModelSummary Summary(string status, long steps, double finalTrainLoss, double validationLoss, double tokensPerSecond, TimeSpan elapsed, string? stopReason) => new()
    {
        Status = status,
        Dataset = _corpusName,
        Model = ModelFactory.Describe(Model),
        Norm = _config.Model == ModelKind.Transformer ? Spelling.Of(_config.Norm) : Spelling.Of(_config.Cell),
        NormPosition = _config.Model == ModelKind.Transformer ? Spelling.Of(_config.NormPosition) : null,
        Context = _config.Context,
        BatchSize = _config.BatchSize,
        WarmupSteps = _config.WarmupSteps,
        LearningRate = _config.LearningRate,
        Steps = steps,
        VocabularySize = Vocabulary.Size,
        FinalTrainBitsPerCharacter = LanguageModelMetrics.BitsPerCharacter(finalTrainLoss),
        ValidationBitsPerCharacter = LanguageModelMetrics.BitsPerCharacter(validationLoss),
        ValidationCharacters = ValidationCharacters,
        TokensPerSecond = tokensPerSecond,
        Minutes = elapsed.TotalMinutes,
        StopReason = stopReason,
        Seed = _config.Seed,
        Threads = _config.Threads,
    };

    /// <summary>Records a run that ended with an error; a second failure here must not hide the first.</summary>
    private void TryWriteFailure(Exception e, TimeSpan elapsed)
    {
        try
        {
            var state = _trainer.State;
            Summary(RunSummary.Failed, state.Step, double.IsNaN(state.LastEpochLoss) ? state.EpochLossSoFar : state.LastEpochLoss, double.NaN, 0, elapsed,
                $"{e.GetType().Name}: {e.Message}").WriteAtomically(Path.Combine(_dir!, SummaryFile));
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

    private static StepLoss Loss(Module model, CharBatch batch) =>
        new(((ILanguageModel)model).Loss(batch.InputTokens, batch.TargetTokens, batch.Count), Samples: batch.Count * batch.Context);

    /// <summary>Mean loss of the last steps trained (a run of a few epochs and a step budget ends within an epoch, so an epoch mean would be stale).</summary>
    private sealed class RecentLoss(int capacity) : ITrainerCallback
    {
        private readonly double[] _losses = new double[capacity];
        private long _seen;

        public int Count => (int)Math.Min(_seen, _losses.Length);

        public double Mean
        {
            get
            {
                double sum = 0;
                for (int i = 0; i < Count; i++) sum += _losses[i];
                return sum / Count;
            }
        }

        public void OnStepEnd(StepContext step)
        {
            if (step.Skipped || !double.IsFinite(step.Loss)) return;
            _losses[_seen++ % _losses.Length] = step.Loss;
        }
    }
}
