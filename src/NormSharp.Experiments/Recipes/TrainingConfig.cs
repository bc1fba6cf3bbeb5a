using System.Text.Json.Serialization;

namespace NormSharp.Training;

/// <summary>
/// Everything that determines a training run. It is stored in every checkpoint, so that
/// <c>--resume</c> continues with the run's own settings; equal configurations and thread counts
/// give identical runs.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Dataset name: <c>mnist-digits</c> or <c>fashion-mnist</c>.</summary>
    [JsonPropertyName("dataset")] public string Dataset { get; init; } = "mnist-digits";

    /// <summary>A folder with the four IDX files, instead of the dataset's default location.</summary>
    [JsonPropertyName("data_dir")] public string? DataDir { get; init; }

    /// <summary>Model kind; <c>mlp</c>.</summary>
    [JsonPropertyName("model")] public string Model { get; init; } = "mlp";

    /// <summary>Recurrent cell for <c>--model rnn</c>: rnn, lstm, ln-lstm, bn-lstm, gru, ln-gru.</summary>
    [JsonPropertyName("cell")] public string Cell { get; init; } = "ln-lstm";

    /// <summary>The recurrent task: seq-mnist-rows, seq-mnist-pixels, seq-mnist-permuted (images read as sequences), adding, copy.</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "seq-mnist-rows";

    /// <summary>Sequence length of the adding problem, or the delay of the copy task.</summary>
    [JsonPropertyName("sequence_length")] public int SequenceLength { get; init; } = 100;

    /// <summary>Truncated BPTT: backpropagate through the last this-many time steps only (0: all).</summary>
    [JsonPropertyName("bptt")] public int Bptt { get; init; }

    /// <summary>Stacked recurrent layers.</summary>
    [JsonPropertyName("layers")] public int Layers { get; init; } = 1;

    /// <summary>Hidden layer widths (for an RNN, the first is the hidden size).</summary>
    [JsonPropertyName("hidden")] public int[] Hidden { get; init; } = [1000, 1000];

    /// <summary>Normalization of the hidden layers: none, layer, batch, rms.</summary>
    [JsonPropertyName("norm")] public string Norm { get; init; } = "layer";

    /// <summary>Hidden nonlinearity: relu, tanh, sigmoid, gelu.</summary>
    [JsonPropertyName("activation")] public string Activation { get; init; } = "relu";

    /// <summary>Samples per step.</summary>
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 128;

    /// <summary>Passes over the training set.</summary>
    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 5;

    /// <summary>Optimizer: sgd, adam, adamw.</summary>
    [JsonPropertyName("optimizer")] public string Optimizer { get; init; } = "adam";

    /// <summary>Base learning rate.</summary>
    [JsonPropertyName("lr")] public double LearningRate { get; init; } = 1e-3;

    /// <summary>Momentum for SGD.</summary>
    [JsonPropertyName("momentum")] public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (L2 for SGD/Adam, decoupled for AdamW).</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; }

    /// <summary>Learning-rate schedule: constant, cosine, step.</summary>
    [JsonPropertyName("schedule")] public string Schedule { get; init; } = "constant";

    /// <summary>Linear warm-up steps before the schedule.</summary>
    [JsonPropertyName("warmup_steps")] public long WarmupSteps { get; init; }

    /// <summary>Global gradient-norm clipping threshold, or 0 for none.</summary>
    [JsonPropertyName("clip_norm")] public double ClipNorm { get; init; }

    /// <summary>Seed of initialization, shuffling and dropout.</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; } = 1;

    /// <summary>Standardize inputs with the training set's global mean and standard deviation.</summary>
    [JsonPropertyName("standardize")] public bool Standardize { get; init; } = true;

    /// <summary>Write a checkpoint every this many steps (0: only at each epoch's end).</summary>
    [JsonPropertyName("checkpoint_every")] public long CheckpointEvery { get; init; }

    /// <summary>Also evaluate on the held-out data every this many steps (0: only at each epoch's end).</summary>
    [JsonPropertyName("eval_every")] public long EvalEvery { get; init; }

    /// <summary>Use at most this many training samples (0: all); for quick experiments.</summary>
    [JsonPropertyName("train_limit")] public int TrainLimit { get; init; }

    /// <summary>What to do when a non-finite loss or gradient appears: stop, skip, rollback.</summary>
    [JsonPropertyName("nan_policy")] public string NanPolicy { get; init; } = "stop";

    /// <summary>Threads for the kernels.</summary>
    [JsonPropertyName("threads")] public int Threads { get; init; } = Environment.ProcessorCount;
}
