namespace NormSharp.Kernels.Attention;

/// <summary>The sizes of one scaled dot-product attention call.</summary>
/// <param name="Batch">Independent sequences.</param>
/// <param name="Heads">Heads per sequence.</param>
/// <param name="QueryTime">Query positions (L in PyTorch's notation).</param>
/// <param name="KeyTime">Key and value positions (S); equal to <paramref name="QueryTime"/> in self-attention.</param>
/// <param name="HeadDim">Channels per head, for queries, keys and values alike.</param>
public readonly record struct AttentionShape(int Batch, int Heads, int QueryTime, int KeyTime, int HeadDim)
{
    /// <summary>Self-attention: as many keys as queries.</summary>
    public static AttentionShape SelfAttention(int batch, int heads, int time, int headDim) => new(batch, heads, time, time, headDim);

    /// <summary>Elements of the per-query log-sum-exp the forward pass keeps for the backward pass: [Batch, Heads, QueryTime].</summary>
    public long LogSumExpLength => (long)Batch * Heads * QueryTime;
}

/// <summary>How attention weights are formed.</summary>
/// <param name="Causal">Query i attends to keys j ≤ i only (PyTorch's <c>is_causal</c>: the lower triangle from the top-left corner).</param>
/// <param name="Scale">Factor applied to q·k before the softmax; PyTorch's default is 1/sqrt(head dim).</param>
/// <param name="DropoutP">Probability of dropping an attention weight (training only); the kept ones are scaled by 1/(1−p).</param>
/// <param name="DropoutSeed">Seeds the drop decisions, which are a function of the seed and the element's position alone, so the backward pass finds the same mask without storing it.</param>
public readonly record struct AttentionOptions(bool Causal, float Scale, float DropoutP = 0f, ulong DropoutSeed = 0)
{
    /// <summary>PyTorch's default scale, 1/sqrt(<paramref name="headDim"/>).</summary>
    public static float DefaultScale(int headDim) => headDim > 0 ? 1f / MathF.Sqrt(headDim) : 1f;
}
