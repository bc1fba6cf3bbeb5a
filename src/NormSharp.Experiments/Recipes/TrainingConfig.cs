using System.Text.Json.Serialization;
using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Training;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// Everything that determines a recipe's training run. It is stored in every checkpoint, so that a
/// resumed run continues with its own settings; equal configurations and thread counts give identical
/// runs. Choices are enums, written in JSON with their <see cref="Spelling"/>.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Dataset name: <c>mnist-digits</c> or <c>fashion-mnist</c>.</summary>
    [JsonPropertyName("dataset")] public string Dataset { get; init; } = "mnist-digits";

    /// <summary>A folder with the four IDX files, instead of the dataset's default location.</summary>
    [JsonPropertyName("data_dir")] public string? DataDir { get; init; }

    /// <summary>Model kind.</summary>
    [JsonPropertyName("model"), JsonConverter(typeof(SpelledEnumConverter<ModelKind>))] public ModelKind Model { get; init; } = ModelKind.Mlp;

    /// <summary>Recurrent cell of <see cref="ModelKind.Rnn"/> models.</summary>
    [JsonPropertyName("cell"), JsonConverter(typeof(SpelledEnumConverter<CellKind>))] public CellKind Cell { get; init; } = CellKind.LnLstm;

    /// <summary>The recurrent task: images read as sequences, or a generated task.</summary>
    [JsonPropertyName("task"), JsonConverter(typeof(SpelledEnumConverter<SequenceTask>))] public SequenceTask Task { get; init; } = SequenceTask.SeqMnistRows;

    /// <summary>Sequence length of the adding problem, or the delay of the copy task.</summary>
    [JsonPropertyName("sequence_length")] public int SequenceLength { get; init; } = 100;

    /// <summary>Truncated BPTT: backpropagate through the last this-many time steps only (0: all).</summary>
    [JsonPropertyName("bptt")] public int Bptt { get; init; }

    /// <summary>Stacked recurrent layers.</summary>
    [JsonPropertyName("layers")] public int Layers { get; init; } = 1;

    /// <summary>Hidden layer widths (for an RNN, the first is the hidden size).</summary>
    [JsonPropertyName("hidden")] public int[] Hidden { get; init; } = [1000, 1000];

    /// <summary>Normalization of the hidden layers.</summary>
    [JsonPropertyName("norm"), JsonConverter(typeof(SpelledEnumConverter<NormKind>))] public NormKind Norm { get; init; } = NormKind.Layer;

    /// <summary>
    /// How an MLP's dense layers start (PyTorch's default U(±1/√fan_in), Glorot, He). Written only when not the
    /// default, so the identity of runs that never set it is unchanged.
    /// </summary>
    [JsonPropertyName("init"), JsonConverter(typeof(SpelledEnumConverter<InitScheme>)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public InitScheme Init { get; init; } = InitScheme.PyTorchDefault;

    /// <summary>
    /// Start every LSTM variant (LSTM, LN-LSTM, BN-LSTM) from the same initial weights for a seed: the input and
    /// recurrent weights and the classifier head drawn as the LN-LSTM draws them, and its bias (zero, with the
    /// forget gate's block at 1), so the cells differ only by their normalizations. Without it the LSTM draws
    /// PyTorch's uniform biases (b_ih and b_hh) and, after them, a different head.
    /// </summary>
    [JsonPropertyName("matched_recurrent_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool MatchedRecurrentInit { get; init; }

    /// <summary>
    /// Log each layer's weight norm ‖W‖ and relative update ‖ΔW‖/‖W‖ every this many steps (0: never); see
    /// <see cref="WeightUpdateMetrics"/>.
    /// </summary>
    [JsonPropertyName("weight_metrics_every"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long WeightMetricsEvery { get; init; }

    /// <summary>
    /// The evaluations between epochs (<see cref="EvalEvery"/>) score only the first this many held-out samples
    /// (0: all), so frequent progress checks stay cheap; the evaluations at each epoch's end and the final one
    /// score every held-out sample.
    /// </summary>
    [JsonPropertyName("eval_limit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int EvalLimit { get; init; }

    /// <summary>Hidden nonlinearity.</summary>
    [JsonPropertyName("activation"), JsonConverter(typeof(SpelledEnumConverter<F.Activation>))] public F.Activation Activation { get; init; } = F.Activation.Relu;

    /// <summary>Samples per step.</summary>
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 128;

    /// <summary>Passes over the training set.</summary>
    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 5;

    /// <summary>Optimizer.</summary>
    [JsonPropertyName("optimizer"), JsonConverter(typeof(SpelledEnumConverter<OptimizerKind>))] public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Base learning rate.</summary>
    [JsonPropertyName("lr")] public double LearningRate { get; init; } = 1e-3;

    /// <summary>Momentum for SGD.</summary>
    [JsonPropertyName("momentum")] public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (L2 for SGD/Adam, decoupled for AdamW).</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; }

    /// <summary>Learning-rate schedule.</summary>
    [JsonPropertyName("schedule"), JsonConverter(typeof(SpelledEnumConverter<ScheduleKind>))] public ScheduleKind Schedule { get; init; } = ScheduleKind.Constant;

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

    /// <summary>What to do when a non-finite loss or gradient appears.</summary>
    [JsonPropertyName("nan_policy"), JsonConverter(typeof(SpelledEnumConverter<NanPolicy>))] public NanPolicy NanPolicy { get; init; } = NanPolicy.Stop;

    /// <summary>
    /// Micro-batches per batch (and per rank in data-parallel runs): each is run forward and backward on its
    /// own and their gradients are summed in a fixed order, so memory scales with the micro-batch. Not part of
    /// the run's identity: the update is that of the whole batch.
    /// </summary>
    [JsonPropertyName("micro_batches")] public int MicroBatches { get; init; } = 1;

    /// <summary>Threads for the kernels.</summary>
    [JsonPropertyName("threads")] public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Language modelling: a UTF-8 text file to learn instead of the named corpus.</summary>
    [JsonPropertyName("data_file")] public string? DataFile { get; init; }

    /// <summary>Language modelling: characters per training window (and the Transformer's positions).</summary>
    [JsonPropertyName("context")] public int Context { get; init; } = 128;

    /// <summary>Language modelling: width of the Transformer's residual stream, or of a recurrent model's character vectors.</summary>
    [JsonPropertyName("d_model")] public int DModel { get; init; } = 128;

    /// <summary>Transformer: attention heads per block.</summary>
    [JsonPropertyName("heads")] public int Heads { get; init; } = 4;

    /// <summary>Transformer: feed-forward width (0: four times <see cref="DModel"/>).</summary>
    [JsonPropertyName("feed_forward")] public int FeedForward { get; init; }

    /// <summary>Transformer: Pre-LN or Post-LN blocks.</summary>
    [JsonPropertyName("norm_position"), JsonConverter(typeof(SpelledEnumConverter<NormPosition>))] public NormPosition NormPosition { get; init; } = NormPosition.Pre;

    /// <summary>Transformer: dropout rate in the blocks.</summary>
    [JsonPropertyName("dropout")] public double Dropout { get; init; }

    /// <summary>Train for this many steps in all (0: for <see cref="Epochs"/> epochs).</summary>
    [JsonPropertyName("steps")] public long Steps { get; init; }

    /// <summary>Language modelling: validation windows scored per evaluation, the first ones in reading order (0: all).</summary>
    [JsonPropertyName("eval_windows")] public int EvalWindows { get; init; } = 256;
}
