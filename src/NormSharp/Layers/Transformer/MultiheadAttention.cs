using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Kernels.Attention;
using NormSharp.Tensors;

namespace NormSharp.Layers.Transformer;

/// <summary>
/// Multi-head attention with PyTorch's <c>nn.MultiheadAttention</c> parameters and semantics: one packed input
/// projection <c>in_proj_weight</c> [3D, D] (queries, keys, values in that order) with <c>in_proj_bias</c> [3D],
/// <c>num_heads</c> heads of D/heads consecutive channels each, scaled dot-product attention per head, and
/// <c>out_proj</c> (a Linear D → D). Inputs are [T, B, D] by default, as in PyTorch, or [B, T, D] with
/// <see cref="BatchFirst"/>. The heads are computed by the fused streaming kernel straight from the packed
/// projection (<see cref="F.PackedSelfAttention"/>), so no per-head copies and no score matrix are made.
/// </summary>
/// <remarks>
/// Unlike PyTorch, the attention weights are not returned (they are never formed as a whole), and masks other
/// than causal are not offered. Weights start as PyTorch's: <c>in_proj_weight</c> Xavier-uniform, both biases
/// zero, <c>out_proj.weight</c> uniform in ±1/sqrt(D).
/// </remarks>
public sealed class MultiheadAttention : Module
{
    /// <summary>Creates the layer; <paramref name="rng"/> draws the weights and, in training, the attention-dropout masks.</summary>
    /// <exception cref="InvalidValueException">A size is not positive, the heads do not divide the width, or dropout is outside [0, 1].</exception>
    public MultiheadAttention(int embedDim, int numHeads, Rng rng, float dropout = 0f, bool bias = true, bool batchFirst = false)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (embedDim <= 0) throw new InvalidValueException(nameof(embedDim), $"MultiheadAttention: embed_dim must be positive, got {embedDim}.");
        if (numHeads <= 0) throw new InvalidValueException(nameof(numHeads), $"MultiheadAttention: num_heads must be positive, got {numHeads}.");
        if (embedDim % numHeads != 0)
            throw new InvalidValueException(nameof(numHeads), $"MultiheadAttention: embed_dim {embedDim} is not divisible by num_heads {numHeads}.");
        if (!(dropout >= 0f && dropout <= 1f)) throw new InvalidValueException(nameof(dropout), $"MultiheadAttention: dropout must be in [0, 1], got {dropout}.");
        EmbedDim = embedDim;
        NumHeads = numHeads;
        DropoutP = dropout;
        BatchFirst = batchFirst;
        Rng = rng;
        var w = Tensor.Zeros(3 * embedDim, embedDim);
        // Xavier-uniform over the packed [3D, D] matrix, as PyTorch's _reset_parameters does.
        float bound = MathF.Sqrt(6f / (4 * embedDim));
        rng.FillUniform(w.Span, -bound, bound);
        InProjWeight = Variable.Parameter(w, "in_proj_weight");
        InProjBias = bias ? Variable.Parameter(Tensor.Zeros(3 * embedDim), "in_proj_bias") : null;
        OutProj = new Linear(embedDim, embedDim, rng, bias);
        OutProj.Bias?.Value.Span.Clear();
    }

    /// <summary>The packed projection of queries, keys and values, [3D, D].</summary>
    [StateName("in_proj_weight")]
    public Variable InProjWeight { get; }

    /// <summary>Its bias, [3D], or null.</summary>
    [StateName("in_proj_bias")]
    public Variable? InProjBias { get; }

    /// <summary>The output projection, D → D.</summary>
    public Linear OutProj { get; }

    /// <summary>Width D of the inputs and outputs.</summary>
    public int EmbedDim { get; }

    /// <summary>Number of heads.</summary>
    public int NumHeads { get; }

    /// <summary>Channels per head, D / heads.</summary>
    public int HeadDim => EmbedDim / NumHeads;

    /// <summary>Probability of dropping an attention weight in training mode.</summary>
    public float DropoutP { get; }

    /// <summary>Whether inputs and outputs are [B, T, D] rather than [T, B, D].</summary>
    public bool BatchFirst { get; }

    /// <summary>The generator of the attention-dropout masks.</summary>
    public Rng Rng { get; }

    /// <summary>Whether the one-argument <see cref="Forward(Variable)"/> masks future positions (default false).</summary>
    public bool IsCausal { get; init; }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => Forward(input, IsCausal);

    /// <summary>Self-attention over <paramref name="x"/>; with <paramref name="isCausal"/>, position t attends to positions ≤ t only.</summary>
    /// <exception cref="ShapeMismatchException">The input is not [T, B, D] (or [B, T, D]) with this layer's D.</exception>
    public Variable Forward(Variable x, bool isCausal)
    {
        ArgumentNullException.ThrowIfNull(x);
        Tape.CheckAlive(x, "MultiheadAttention");
        CheckInput(x, "input");
        var qkv = F.Linear(x, InProjWeight, InProjBias);
        var heads = F.PackedSelfAttention(qkv, NumHeads, isCausal, BatchFirst, AttentionDropout, Rng);
        return OutProj.Forward(heads);
    }

    /// <summary>
    /// Attention of <paramref name="query"/> over <paramref name="key"/> and <paramref name="value"/> (which may
    /// differ in length from the query), each projected by its block of <c>in_proj_weight</c>. The heads are read
    /// in place from the three projections.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The inputs do not fit the layer or each other.</exception>
    public Variable Forward(Variable query, Variable key, Variable value, bool isCausal = false)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Tape.CheckAlive(query, "MultiheadAttention");
        Tape.CheckAlive(key, "MultiheadAttention");
        Tape.CheckAlive(value, "MultiheadAttention");
        CheckInput(query, "query");
        CheckInput(key, "key");
        CheckInput(value, "value");
        if (!key.Shape.SequenceEqual(value.Shape))
            throw new ShapeMismatchException($"MultiheadAttention: key {ShapeMismatchException.Format(key.Shape)} and value {ShapeMismatchException.Format(value.Shape)} must have the same shape.");
        int batch = query.Shape[BatchFirst ? 0 : 1];
        if (key.Shape[BatchFirst ? 0 : 1] != batch)
            throw new ShapeMismatchException($"MultiheadAttention: query {ShapeMismatchException.Format(query.Shape)} and key {ShapeMismatchException.Format(key.Shape)} hold different batch sizes.");
        int d = EmbedDim;
        Variable Project(Variable input, int block) => F.Linear(input, F.Narrow(InProjWeight, 0, block * d, d), InProjBias is null ? null : F.Narrow(InProjBias, 0, block * d, d));
        var heads = F.InterleavedHeadsAttention(Project(query, 0), Project(key, 1), Project(value, 2), NumHeads, isCausal, BatchFirst, AttentionDropout, Rng);
        return OutProj.Forward(heads);
    }

    private float AttentionDropout => IsTraining ? DropoutP : 0f;

    private void CheckInput(Variable x, string name)
    {
        if (x.Shape.Length != 3 || x.Shape[2] != EmbedDim)
            throw new ShapeMismatchException($"MultiheadAttention: the {name} must be [{(BatchFirst ? "B, T" : "T, B")}, {EmbedDim}], got {ShapeMismatchException.Format(x.Shape)}.");
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"embed_dim={EmbedDim}, num_heads={NumHeads}, dropout={Repr.Float(DropoutP)}, batch_first={Repr.Bool(BatchFirst)}";
}
