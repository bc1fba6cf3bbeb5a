using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Training;

/// <summary>Builds the model, optimizer and schedule a <see cref="TrainingConfig"/> describes, checking every option.</summary>
public static class ModelFactory
{
    /// <summary>The accepted model kinds.</summary>
    public static readonly string[] Models = ["mlp", "rnn"];

    /// <summary>The accepted sequence tasks for recurrent models.</summary>
    public static readonly string[] Tasks = ["seq-mnist-rows", "seq-mnist-pixels", "seq-mnist-permuted", "adding", "copy"];

    /// <summary>True when the configuration's task generates its own data (no dataset to load).</summary>
    public static bool IsSynthetic(TrainingConfig c) => c.Model == "rnn" && c.Task is "adding" or "copy";

    /// <summary>The task a configuration describes; <paramref name="data"/> is needed unless the task is synthetic.</summary>
    public static Tasks.ITrainingTask CreateTask(TrainingConfig c, Data.DatasetSplit? data)
    {
        if (c.Model == "rnn" && c.Task == "adding") return new Tasks.AddingTask(c);
        if (c.Model == "rnn" && c.Task == "copy") return new Tasks.CopyMemoryTask(c);
        if (data is null) throw new InvalidValueException("dataset", $"task {c.Task} needs a dataset");
        var train = c.TrainLimit > 0 ? data.Train.Take(c.TrainLimit) : data.Train;
        return new Tasks.ImageClassificationTask(c, new Data.DatasetSplit(train, data.Test));
    }

    /// <summary>The accepted optimizer names.</summary>
    public static readonly string[] Optimizers = ["sgd", "adam", "adamw"];

    /// <summary>The accepted schedule names.</summary>
    public static readonly string[] Schedules = ["constant", "cosine", "step"];

    /// <summary>The accepted activation names.</summary>
    public static readonly string[] Activations = ["relu", "tanh", "sigmoid", "gelu"];

    /// <summary>Checks a configuration before anything is built or written; throws <see cref="InvalidValueException"/> naming the option.</summary>
    public static void Validate(TrainingConfig c)
    {
        if (Array.IndexOf(Models, c.Model) < 0) throw new InvalidValueException("model", $"unknown model '{c.Model}' (expected one of {string.Join("|", Models)})");
        if (c.Model == "rnn")
        {
            CellKinds.Parse(c.Cell);
            if (Array.IndexOf(Tasks, c.Task) < 0) throw new InvalidValueException("task", $"unknown task '{c.Task}' (expected one of {string.Join("|", Tasks)})");
            if (c.SequenceLength < 2) throw new InvalidValueException("sequence-length", $"--sequence-length must be at least 2, got {c.SequenceLength}");
            if (c.Bptt < 0) throw new InvalidValueException("bptt", $"--bptt must be >= 0, got {c.Bptt}");
            if (c.Layers < 1) throw new InvalidValueException("layers", $"--layers must be at least 1, got {c.Layers}");
            if (c.Cell == "bn-lstm" && c.BatchSize < 2) throw new InvalidValueException("batch-size", "bn-lstm needs at least 2 samples per batch");
        }
        NormKinds.Parse(c.Norm);
        if (Array.IndexOf(Activations, c.Activation) < 0) throw new InvalidValueException("activation", $"unknown activation '{c.Activation}' (expected one of {string.Join("|", Activations)})");
        if (Array.IndexOf(Optimizers, c.Optimizer) < 0) throw new InvalidValueException("optimizer", $"unknown optimizer '{c.Optimizer}' (expected one of {string.Join("|", Optimizers)})");
        if (Array.IndexOf(Schedules, c.Schedule) < 0) throw new InvalidValueException("schedule", $"unknown schedule '{c.Schedule}' (expected one of {string.Join("|", Schedules)})");
        ParseNanPolicy(c.NanPolicy);
        if (c.BatchSize <= 0) throw new InvalidValueException("batch-size", $"--batch-size must be positive, got {c.BatchSize}");
        if (c.Epochs <= 0) throw new InvalidValueException("epochs", $"--epochs must be positive, got {c.Epochs}");
        if (!(c.LearningRate > 0) || double.IsInfinity(c.LearningRate)) throw new InvalidValueException("lr", $"--lr must be a positive number, got {c.LearningRate}");
        if (c.Hidden.Length == 0 || c.Hidden.Any(h => h <= 0)) throw new InvalidValueException("hidden", $"--hidden must list positive widths, got '{string.Join(",", c.Hidden)}'");
        if (c.EvalEvery < 0) throw new InvalidValueException("eval-every", $"--eval-every must be >= 0, got {c.EvalEvery}");
        if (c.CheckpointEvery < 0) throw new InvalidValueException("checkpoint-every", $"--checkpoint-every must be >= 0, got {c.CheckpointEvery}");
        if (c.ClipNorm < 0) throw new InvalidValueException("clip-norm", $"--clip-norm must be >= 0, got {c.ClipNorm}");
        if (c.Threads < 1) throw new InvalidValueException("threads", $"--threads must be at least 1, got {c.Threads}");
        if (c.BatchSize == 1 && c.Norm == "batch") throw new InvalidValueException("batch-size", "batch normalization needs at least 2 samples per batch; use --norm layer at batch size 1");
    }

    /// <summary>Parses stop|skip|rollback.</summary>
    public static NanPolicy ParseNanPolicy(string s) => s switch
    {
        "stop" => NanPolicy.Stop,
        "skip" => NanPolicy.Skip,
        "rollback" => NanPolicy.Rollback,
        _ => throw new InvalidValueException("nan-policy", $"unknown NaN policy '{s}' (expected stop|skip|rollback)"),
    };

    /// <summary>The model for images of <paramref name="height"/>×<paramref name="width"/> and <paramref name="classes"/> outputs; weights drawn from <paramref name="rng"/>.</summary>
    public static Module BuildModel(TrainingConfig c, int height, int width, int classes, Rng rng)
    {
        if (c.Model == "rnn")
        {
            var reading = c.Task switch
            {
                "seq-mnist-pixels" => SequenceReading.Pixels,
                "seq-mnist-permuted" => SequenceReading.PermutedPixels,
                _ => SequenceReading.Rows,
            };
            var model = new SequenceClassifier(CellKinds.Parse(c.Cell), reading, height, width, c.Hidden[0], classes, rng, c.Layers);
            if (c.Bptt > 0) model.Rnn.TruncateBackpropagation = c.Bptt;
            return model;
        }
        var act = c.Activation switch
        {
            "tanh" => F.Activation.Tanh,
            "sigmoid" => F.Activation.Sigmoid,
            "gelu" => F.Activation.Gelu,
            _ => F.Activation.Relu,
        };
        return new Mlp([height * width, .. c.Hidden, classes], NormKinds.Parse(c.Norm), rng, act);
    }

    /// <summary>A short description of a model built here, e.g. <c>mlp-784-1000-1000-10</c>.</summary>
    public static string Describe(Module model) => model switch
    {
        Mlp m => m.Describe(),
        SequenceClassifier s => s.Describe(),
        ISequenceModel q => $"rnn-{CellKinds.Name(q.Rnn.Kind)}-{q.Rnn.HiddenSize}x{q.Rnn.Cells.Count}",
        _ => model.GetType().Name,
    };

    /// <summary>The optimizer over <paramref name="parameters"/>.</summary>
    public static Optimizer BuildOptimizer(TrainingConfig c, IReadOnlyList<Variable> parameters) => c.Optimizer switch
    {
        "sgd" => new Sgd(parameters, c.LearningRate, (float)c.Momentum, 0f, (float)c.WeightDecay),
        "adamw" => new AdamW(parameters, c.LearningRate, weightDecay: (float)(c.WeightDecay == 0 ? 0.01 : c.WeightDecay)),
        _ => new Adam(parameters, c.LearningRate, weightDecay: (float)c.WeightDecay),
    };

    /// <summary>The learning-rate schedule over <paramref name="totalSteps"/>.</summary>
    public static LearningRateSchedule BuildSchedule(TrainingConfig c, long totalSteps)
    {
        LearningRateSchedule after = c.Schedule switch
        {
            "cosine" => new CosineSchedule(Math.Max(1, totalSteps - c.WarmupSteps)),
            "step" => new StepSchedule(Math.Max(1, (totalSteps - c.WarmupSteps) / 3), 0.1),
            _ => LearningRateSchedule.Constant,
        };
        return c.WarmupSteps > 0 ? new WarmupSchedule(c.WarmupSteps, after) : after;
    }
}
