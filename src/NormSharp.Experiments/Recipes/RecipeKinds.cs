using System.Text.Json.Serialization;

namespace NormSharp.Experiments.Recipes;

/// <summary>The model a recipe builds.</summary>
public enum ModelKind
{
    /// <summary>A multilayer perceptron over flattened images.</summary>
    Mlp,
    /// <summary>A recurrent network reading a sequence.</summary>
    Rnn,
    /// <summary>A decoder-only Transformer (character language modelling).</summary>
    Transformer,
}

/// <summary>Where a Transformer block normalizes.</summary>
public enum NormPosition
{
    /// <summary>Pre-LN: x + sublayer(norm(x)), with a final normalization.</summary>
    Pre,
    /// <summary>Post-LN: norm(x + sublayer(x)), the original Transformer.</summary>
    Post,
}

/// <summary>What a recurrent model learns.</summary>
public enum SequenceTask
{
    /// <summary>Images read one row per time step.</summary>
    SeqMnistRows,
    /// <summary>Images read one pixel per time step.</summary>
    SeqMnistPixels,
    /// <summary>Images read one pixel per time step in a fixed random order.</summary>
    SeqMnistPermuted,
    /// <summary>The adding problem (generated).</summary>
    Adding,
    /// <summary>The copy-memory task (generated).</summary>
    Copy,
    /// <summary>Character-level language modelling of a text corpus.</summary>
    CharLm,
}

/// <summary>The optimizer a recipe uses.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum.</summary>
    Sgd,
    /// <summary>Adam.</summary>
    Adam,
    /// <summary>AdamW (decoupled weight decay).</summary>
    [JsonStringEnumMemberName("adamw")] AdamW,
}

/// <summary>The learning-rate schedule a recipe uses (after any warm-up).</summary>
public enum ScheduleKind
{
    /// <summary>The base rate throughout.</summary>
    Constant,
    /// <summary>Cosine annealing to zero over the run.</summary>
    Cosine,
    /// <summary>×0.1 at a third and two thirds of the run.</summary>
    Step,
}
