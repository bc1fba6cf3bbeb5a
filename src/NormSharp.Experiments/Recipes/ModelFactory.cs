using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.Experiments.Recipes.Tasks;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Experiments.Recipes;

/// <summary>Builds the task, model, optimizer and schedule a <see cref="TrainingConfig"/> describes, checking every setting.</summary>
public static class ModelFactory
{
    /// <summary>True when the configuration trains a character-level language model (<see cref="CharLmRun"/>).</summary>
    public static bool IsLanguageModel(TrainingConfig c) => c.Task == SequenceTask.CharLm || c.Model == ModelKind.Transformer;

    /// <summary>True when the configuration's task generates its own data (no dataset to load).</summary>
    public static bool IsSynthetic(TrainingConfig c) => c.Model == ModelKind.Rnn && c.Task is SequenceTask.Adding or SequenceTask.Copy;

    /// <summary>The task a configuration describes; <paramref name="data"/> is needed unless the task is synthetic.</summary>
    public static ITrainingTask CreateTask(TrainingConfig c, DatasetSplit? data)
    {
        if (c.Model == ModelKind.Rnn && c.Task == SequenceTask.Adding) return new AddingTask(c);
        if (c.Model == ModelKind.Rnn && c.Task == SequenceTask.Copy) return new CopyMemoryTask(c);
        if (IsLanguageModel(c)) throw new InvalidValueException(nameof(c.Task), "language models train through CharLmRun, not an image task");
        if (data is null) throw new InvalidValueException(nameof(data), $"task {Spelling.Of(c.Task)} needs a dataset");
        var train = c.TrainLimit > 0 ? data.Train.Take(c.TrainLimit) : data.Train;
        return new ImageClassificationTask(c, new DatasetSplit(train, data.Test));
    }

    /// <summary>Checks a configuration before anything is built or written; throws <see cref="InvalidValueException"/> naming the setting.</summary>
    public static void Validate(TrainingConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        Defined(c.Model, nameof(c.Model));
        Defined(c.Cell, nameof(c.Cell));
        Defined(c.Task, nameof(c.Task));
        Defined(c.Norm, nameof(c.Norm));
        Defined(c.Activation, nameof(c.Activation));
        Defined(c.Optimizer, nameof(c.Optimizer));
        Defined(c.Schedule, nameof(c.Schedule));
        Defined(c.NanPolicy, nameof(c.NanPolicy));
        if (c.Model == ModelKind.Rnn)
        {
            if (c.SequenceLength < 2) throw new InvalidValueException(nameof(c.SequenceLength), $"SequenceLength must be at least 2, got {c.SequenceLength}");
            if (c.Bptt < 0) throw new InvalidValueException(nameof(c.Bptt), $"Bptt must be >= 0, got {c.Bptt}");
            if (c.Layers < 1) throw new InvalidValueException(nameof(c.Layers), $"Layers must be at least 1, got {c.Layers}");
            if (c.Cell == CellKind.BnLstm && c.BatchSize < 2) throw new InvalidValueException(nameof(c.BatchSize), "the bn-lstm cell needs at least 2 samples per batch");
        }
        if (c.BatchSize <= 0) throw new InvalidValueException(nameof(c.BatchSize), $"BatchSize must be positive, got {c.BatchSize}");
        if (c.Epochs <= 0) throw new InvalidValueException(nameof(c.Epochs), $"Epochs must be positive, got {c.Epochs}");
        if (!(c.LearningRate > 0) || double.IsInfinity(c.LearningRate)) throw new InvalidValueException(nameof(c.LearningRate), $"LearningRate must be a positive number, got {c.LearningRate}");
        if (c.Hidden is null || c.Hidden.Length == 0 || c.Hidden.Any(h => h <= 0)) throw new InvalidValueException(nameof(c.Hidden), $"Hidden must list positive widths, got '{string.Join(",", c.Hidden ?? [])}'");
        if (c.EvalEvery < 0) throw new InvalidValueException(nameof(c.EvalEvery), $"EvalEvery must be >= 0, got {c.EvalEvery}");
        if (c.EvalLimit < 0) throw new InvalidValueException(nameof(c.EvalLimit), $"EvalLimit must be >= 0, got {c.EvalLimit}");
        if (c.WeightMetricsEvery < 0) throw new InvalidValueException(nameof(c.WeightMetricsEvery), $"WeightMetricsEvery must be >= 0, got {c.WeightMetricsEvery}");
        Defined(c.Init, nameof(c.Init));
        if (c.Init != InitScheme.PyTorchDefault && c.Model != ModelKind.Mlp)
            throw new InvalidValueException(nameof(c.Init), $"Init sets how an MLP's dense layers start; a {Spelling.Of(c.Model)} model starts as its cells define");
        if (c.MatchedRecurrentInit && !(c.Model == ModelKind.Rnn && c.Cell is CellKind.Lstm or CellKind.LnLstm or CellKind.BnLstm))
            throw new InvalidValueException(nameof(c.MatchedRecurrentInit), "MatchedRecurrentInit matches the initial weights of the LSTM cells (lstm, ln-lstm, bn-lstm); it does not apply to this model");
        if (c.MatchedRecurrentInit && c.Layers > 1 && c.Cell == CellKind.BnLstm)
            throw new InvalidValueException(nameof(c.MatchedRecurrentInit), "MatchedRecurrentInit covers one-layer BN-LSTM models only");
        if (c.CheckpointEvery < 0) throw new InvalidValueException(nameof(c.CheckpointEvery), $"CheckpointEvery must be >= 0, got {c.CheckpointEvery}");
        if (!(c.ClipNorm >= 0) || double.IsInfinity(c.ClipNorm)) throw new InvalidValueException(nameof(c.ClipNorm), $"ClipNorm must be >= 0, got {c.ClipNorm}");
        if (c.Threads < 1) throw new InvalidValueException(nameof(c.Threads), $"Threads must be at least 1, got {c.Threads}");
        if (c.MicroBatches < 1) throw new InvalidValueException(nameof(c.MicroBatches), $"MicroBatches must be at least 1, got {c.MicroBatches}");
        if (c.MicroBatches > c.BatchSize) throw new InvalidValueException(nameof(c.MicroBatches), $"MicroBatches ({c.MicroBatches}) cannot exceed the batch size ({c.BatchSize})");
        if (c.BatchSize == 1 && c.Model == ModelKind.Mlp && c.Norm is NormKind.Batch or NormKind.SyncBatch) throw new InvalidValueException(nameof(c.BatchSize), "batch normalization needs at least 2 samples per batch; use layer normalization at batch size 1");
        if (c.Steps < 0) throw new InvalidValueException(nameof(c.Steps), $"Steps must be >= 0, got {c.Steps}");
        if (IsLanguageModel(c)) ValidateLanguageModel(c);
    }

    private static void ValidateLanguageModel(TrainingConfig c)
    {
        Defined(c.NormPosition, nameof(c.NormPosition));
        if (c.Model == ModelKind.Mlp) throw new InvalidValueException(nameof(c.Model), "the char-lm task needs a transformer or an rnn model");
        if (c.Task != SequenceTask.CharLm) throw new InvalidValueException(nameof(c.Task), $"the transformer model learns the char-lm task, not {Spelling.Of(c.Task)}");
        if (c.Context < 1) throw new InvalidValueException(nameof(c.Context), $"the context must be at least 1 character, got {c.Context}");
        if (c.DModel < 1) throw new InvalidValueException(nameof(c.DModel), $"DModel must be positive, got {c.DModel}");
        if (c.EvalWindows < 0) throw new InvalidValueException(nameof(c.EvalWindows), $"EvalWindows must be >= 0, got {c.EvalWindows}");
        if (c.Model != ModelKind.Transformer) return;
        if (c.Heads < 1) throw new InvalidValueException(nameof(c.Heads), $"the number of heads must be positive, got {c.Heads}");
        if (c.DModel % c.Heads != 0) throw new InvalidValueException(nameof(c.Heads), $"{c.Heads} heads do not divide the model width {c.DModel}");
        if (c.FeedForward < 0) throw new InvalidValueException(nameof(c.FeedForward), $"FeedForward must be >= 0, got {c.FeedForward}");
        if (!(c.Dropout >= 0 && c.Dropout < 1)) throw new InvalidValueException(nameof(c.Dropout), $"Dropout must be in [0, 1), got {c.Dropout}");
        if (c.Norm is NormKind.Batch or NormKind.SyncBatch) throw new InvalidValueException(nameof(c.Norm), "batch normalization is not offered in Transformer blocks (it would mix positions and sequences); use layer, rms or none");
    }

    private static void Defined<TEnum>(TEnum value, string name) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value)) throw new InvalidValueException(name, $"{name} has no value {value} (expected one of {string.Join("|", Spelling.Names<TEnum>())})");
    }

    /// <summary>The model for images of <paramref name="height"/>×<paramref name="width"/> and <paramref name="classes"/> outputs; weights drawn from <paramref name="rng"/>.</summary>
    public static Module BuildModel(TrainingConfig c, int height, int width, int classes, Rng rng)
    {
        switch (c.Model)
        {
            case ModelKind.Rnn:
                var reading = c.Task switch
                {
                    SequenceTask.SeqMnistRows => SequenceReading.Rows,
                    SequenceTask.SeqMnistPixels => SequenceReading.Pixels,
                    SequenceTask.SeqMnistPermuted => SequenceReading.PermutedPixels,
                    _ => throw new InvalidValueException(nameof(c.Task), $"task {Spelling.Of(c.Task)} does not read images"),
                };
                var model = (SequenceClassifier)MatchedRecurrentInit.Build(c, rng, (cell, r) => new SequenceClassifier(cell, reading, height, width, c.Hidden[0], classes, r, c.Layers));
                if (c.Bptt > 0) model.Rnn.TruncateBackpropagation = c.Bptt;
                return model;
            case ModelKind.Mlp:
                return new Mlp([height * width, .. c.Hidden, classes], c.Norm, rng, c.Activation, c.Init);
            default:
                throw new InvalidValueException(nameof(c.Model), $"Model has no value {c.Model}");
        }
    }

    /// <summary>A short description of a model built here, e.g. <c>mlp-784-1000-1000-10</c>.</summary>
    public static string Describe(Module model) => model switch
    {
        Mlp m => m.Describe(),
        SequenceClassifier s => s.Describe(),
        NormSharp.Layers.Transformer.TransformerLanguageModel t => t.Describe(),
        RecurrentLanguageModel r => r.Describe(),
        ISequenceModel q => $"rnn-{CellKinds.Name(q.Rnn.Kind)}-{q.Rnn.HiddenSize}x{q.Rnn.Cells.Count}",
        _ => model.GetType().Name,
    };

    /// <summary>The optimizer over <paramref name="model"/>'s parameters.</summary>
    public static Optimizer BuildOptimizer(TrainingConfig c, Module model) => c.Optimizer switch
    {
        OptimizerKind.Sgd => new Sgd(model.Parameters(), c.LearningRate, (float)c.Momentum, 0f, (float)c.WeightDecay),
        OptimizerKind.Adam => new Adam(model.Parameters(), c.LearningRate, weightDecay: (float)c.WeightDecay),
        // AdamW's default decay (PyTorch's 0.01) when none is set, on every parameter as before (one group).
        OptimizerKind.AdamW => new AdamW(model.Parameters(), c.LearningRate, weightDecay: (float)(c.WeightDecay == 0 ? 0.01 : c.WeightDecay)),
        _ => throw new InvalidValueException(nameof(c.Optimizer), $"Optimizer has no value {c.Optimizer}"),
    };

    /// <summary>The learning-rate schedule over <paramref name="totalSteps"/>.</summary>
    public static LearningRateSchedule BuildSchedule(TrainingConfig c, long totalSteps)
    {
        LearningRateSchedule after = c.Schedule switch
        {
            ScheduleKind.Constant => LearningRateSchedule.Constant,
            ScheduleKind.Cosine => new CosineSchedule(Math.Max(1, totalSteps - c.WarmupSteps)),
            ScheduleKind.Step => new StepSchedule(Math.Max(1, (totalSteps - c.WarmupSteps) / 3), 0.1),
            _ => throw new InvalidValueException(nameof(c.Schedule), $"Schedule has no value {c.Schedule}"),
        };
        return c.WarmupSteps > 0 ? new WarmupSchedule(c.WarmupSteps, after) : after;
    }
}
