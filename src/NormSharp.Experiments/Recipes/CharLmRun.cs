using System.Diagnostics;
using System.Text.Json;
using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Data.Text;
using NormSharp.Errors;
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
/// mean cross-entropy, and held-out evaluation on the validation text in bits per character. A run folder receives
/// <c>vocabulary.json</c> at the start, <c>metrics.csv</c> and checkpoints as it goes (the vocabulary is in every
/// checkpoint too), then <c>model.safetensors</c> and <c>summary.json</c>. A run resumed from its folder continues
/// with its own settings and vocabulary.
/// </summary>
public sealed class CharLmRun
{
    /// <summary>File name of the vocabulary inside a run folder.</summary>
    public const string VocabularyFile = "vocabulary.json";

    /// <summary>File name of the final weights inside a run folder.</summary>
    public const string ModelFile = "model.safetensors";

    /// <summary>File name of the summary inside a run folder.</summary>
    public const string SummaryFile = "summary.json";

    private readonly TrainingConfig _config;
    private readonly string? _dir;
    private readonly string _corpusName;
    private readonly Trainer<CharBatch> _trainer;
    private readonly CharSequenceLoader _loader;
    private readonly CharSequenceLoader _validation;
    private readonly CheckpointManager? _checkpoints;
    private readonly StepLimit? _limit;
    private readonly ProgressReporter _progress = new();
    private readonly int _epochs;

    /// <summary>
    /// Sets up a new run on <paramref name="corpus"/> (its training text gives the vocabulary unless
    /// <paramref name="vocabulary"/> is given); <paramref name="outputDirectory"/> may be null for a run that writes nothing.
    /// </summary>
    /// <exception cref="InvalidValueException">A setting is out of range, or the texts are shorter than one window.</exception>
    public CharLmRun(TrainingConfig config, TextCorpus corpus, string? outputDirectory, CharVocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ModelFactory.Validate(config);
        if (!ModelFactory.IsLanguageModel(config))
            throw new InvalidValueException(nameof(config.Task), $"CharLmRun trains the char-lm task, not {Spelling.Of(config.Task)}");
        if (config.MicroBatches != 1)
            throw new InvalidValueException(nameof(config.MicroBatches), "language-model runs take each batch whole; micro-batches are not supported for them");
        if (config.NanPolicy == NanPolicy.Rollback && outputDirectory is null)
            throw new InvalidValueException(nameof(config.NanPolicy), "the rollback policy needs an output folder to keep the checkpoints it rolls back to");
        corpus.RequireContext(config.Context);
        _config = config;
        _dir = outputDirectory;
        _corpusName = corpus.Name;
        Vocabulary = vocabulary ?? CharVocabulary.Build(corpus.Train);
        ParallelFor.MaxThreads = config.Threads;

        var modelRng = new Rng(config.Seed);
        Model = BuildModel(config, Vocabulary.Size, modelRng);
        _loader = new CharSequenceLoader(Vocabulary.Encode(corpus.Train), config.Context, config.BatchSize, config.Seed);
        var held = Vocabulary.Encode(corpus.Validation);
        _validation = new CharSequenceLoader(held, config.Context, config.BatchSize, config.Seed, shuffle: false);
        TotalSteps = config.Steps > 0 ? config.Steps : (long)_loader.BatchesPerEpoch * config.Epochs;
        _epochs = config.Steps > 0 ? (int)Math.Min(int.MaxValue, (config.Steps + _loader.BatchesPerEpoch - 1) / _loader.BatchesPerEpoch) : config.Epochs;

        _trainer = new Trainer<CharBatch>(Model, BuildOptimizer(config, Model), Loss)
        {
            Schedule = ModelFactory.BuildSchedule(config, TotalSteps),
            Evaluator = m => Evaluate(m, config.EvalWindows),
            EvaluateEvery = outputDirectory is null ? 0 : config.EvalEvery,
        };
        _trainer.CheckpointMetadata["config"] = JsonSerializer.Serialize(config);
        _trainer.CheckpointMetadata["vocabulary"] = Vocabulary.ToJson();
        _trainer.CheckpointMetadata["corpus"] = corpus.Name;
        _trainer.Add(new RngState("model_rng", modelRng));
        _checkpoints = outputDirectory is null ? null : new CheckpointManager(outputDirectory, config.CheckpointEvery);
        if (outputDirectory is not null)
        {
            NormSharp.IO.AtomicFile.Write(Path.Combine(outputDirectory, VocabularyFile), s => s.Write(System.Text.Encoding.UTF8.GetBytes(Vocabulary.ToJson())));
            _trainer.Add(new MetricsCsvLogger(Path.Combine(outputDirectory, "metrics.csv")));
        }
        _trainer.Add(new NanGuard(config.NanPolicy, _checkpoints));
        if (config.ClipNorm > 0) _trainer.Add(new GradientClipper(config.ClipNorm));
        _trainer.Add(new DivergenceDetector(Math.Clamp((2048 + config.BatchSize - 1) / config.BatchSize, 20, 1000)));
        if (config.Steps > 0) _trainer.Add(_limit = new StepLimit(config.Steps));
        if (_checkpoints is not null) _trainer.Add(_checkpoints);
        _trainer.Add(_progress);
    }

    /// <summary>The model being trained (a <see cref="TransformerLanguageModel"/> or a <see cref="RecurrentLanguageModel"/>).</summary>
    public Module Model { get; }

    /// <summary>The characters the model knows.</summary>
    public CharVocabulary Vocabulary { get; }

    /// <summary>The run's configuration.</summary>
    public TrainingConfig Config => _config;

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

    /// <summary>Reads the configuration and vocabulary stored in a run folder's checkpoint.</summary>
    public static (TrainingConfig Config, CharVocabulary Vocabulary, string Corpus) ReadRun(string directory)
    {
        string path = Path.Combine(directory, Checkpoint.FileName);
        var cp = Checkpoint.Load(path);
        return (ConfigOf(cp, path), VocabularyOf(cp, path), cp.Metadata.GetValueOrDefault("corpus", ""));
    }

    /// <summary>Continues the run stored in <paramref name="directory"/> with its own configuration and vocabulary.</summary>
    public static CharLmRun Resume(string directory, TextCorpus corpus)
    {
        string path = Path.Combine(directory, Checkpoint.FileName);
        var cp = Checkpoint.Load(path);
        var run = new CharLmRun(ConfigOf(cp, path), corpus, directory, VocabularyOf(cp, path));
        run._trainer.LoadCheckpoint(cp, path);
        return run;
    }

    /// <summary>
    /// The trained model of a run folder, in evaluation mode, with its vocabulary: the final weights
    /// (<c>model.safetensors</c>) when the run finished, else those of its latest checkpoint.
    /// </summary>
    /// <exception cref="InvalidValueException">The folder holds a run that is not a language model.</exception>
    /// <exception cref="CorruptFileException">The folder holds no run, or its files are damaged.</exception>
    public static (ILanguageModel Model, CharVocabulary Vocabulary, TrainingConfig Config) LoadTrained(string directory)
    {
        string path = Path.Combine(directory, Checkpoint.FileName);
        if (!File.Exists(path))
            throw new CorruptFileException(path, $"{directory} holds no training run (no {Checkpoint.FileName}).");
        var cp = Checkpoint.Load(path);
        var config = ConfigOf(cp, path);
        if (!ModelFactory.IsLanguageModel(config))
            throw new InvalidValueException("run", $"{directory} holds a {Spelling.Of(config.Model)} run on {config.Dataset} ({Spelling.Of(config.Task)}), not a language model.");
        var vocabulary = VocabularyOf(cp, path);
        var model = BuildModel(config, vocabulary.Size, new Rng(config.Seed));
        string final = Path.Combine(directory, ModelFile);
        if (File.Exists(final))
            model.LoadStateDict(SafetensorsFile.Read(final) is var f ? f.Entries.Select(e => (e.Name, f.GetTensor(e.Name))) : []);
        else
            model.LoadStateDict(cp.Tensors.Where(t => t.Name.StartsWith("model.", StringComparison.Ordinal)).Select(t => (t.Name["model.".Length..], t.Tensor)));
        model.Eval();
        return ((ILanguageModel)model, vocabulary, config);
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

    private static CharVocabulary VocabularyOf(Checkpoint cp, string path) => CharVocabulary.FromJson(cp.Require("vocabulary", path), path);

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

    /// <summary>Runs to the end (or until <paramref name="cancel"/> asks to stop: the current step finishes and a checkpoint is written).</summary>
    public LanguageModelSummary Run(CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var fit = _trainer.Fit(_loader, _epochs, cancel);
        bool complete = !fit.Diverged && !fit.WasInterrupted;
        // A run that ended between epochs (a step budget) has its last state saved here.
        if (complete) _checkpoints?.Save(_trainer);
        var validation = fit.Diverged ? double.NaN : Evaluate(Model).Loss;
        var summary = new LanguageModelSummary
        {
            Dataset = _corpusName,
            Model = ModelFactory.Describe(Model),
            Norm = _config.Model == ModelKind.Transformer ? Spelling.Of(_config.Norm) : Spelling.Of(_config.Cell),
            NormPosition = _config.Model == ModelKind.Transformer ? Spelling.Of(_config.NormPosition) : null,
            Context = _config.Context,
            BatchSize = _config.BatchSize,
            WarmupSteps = _config.WarmupSteps,
            LearningRate = _config.LearningRate,
            Steps = fit.Steps,
            VocabularySize = Vocabulary.Size,
            FinalTrainBitsPerCharacter = LanguageModelMetrics.BitsPerCharacter(fit.FinalTrainLoss),
            ValidationBitsPerCharacter = LanguageModelMetrics.BitsPerCharacter(validation),
            ValidationCharacters = ValidationCharacters,
            TokensPerSecond = fit.SamplesPerSecond,
            Minutes = clock.Elapsed.TotalMinutes,
            Diverged = fit.Diverged,
            // A step budget reached is the planned end, not a stop.
            StopReason = fit.StopReason == _limit?.Reason ? null : fit.StopReason,
            Seed = _config.Seed,
            Threads = _config.Threads,
        };
        if (_dir is not null)
        {
            if (!fit.Diverged)
                SafetensorsWriter.Write(Path.Combine(_dir, ModelFile), Model.StateDict(),
                    new Dictionary<string, string> { ["format"] = "pt", ["model"] = ModelFactory.Describe(Model), ["vocabulary"] = Vocabulary.ToJson() });
            summary.WriteAtomically(Path.Combine(_dir, SummaryFile));
        }
        return summary;
    }

    private static StepLoss Loss(Module model, CharBatch batch) =>
        new(((ILanguageModel)model).Loss(batch.InputTokens, batch.TargetTokens, batch.Count), Samples: batch.Count * batch.Context);
}
