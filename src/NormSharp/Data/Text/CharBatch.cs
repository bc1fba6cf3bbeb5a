namespace NormSharp.Data.Text;

/// <summary>
/// A batch of token windows from a <see cref="CharSequenceLoader"/>: <see cref="Count"/> windows of
/// <see cref="Context"/> inputs, row-major, each input's next token as its target. The arrays belong to the loader,
/// which alternates between two pairs, so a batch stays intact while the next one is fetched.
/// </summary>
/// <param name="Inputs">Input tokens, [Count, Context] (the first Count·Context entries are the batch).</param>
/// <param name="Targets">Target tokens, same layout.</param>
/// <param name="Count">Windows in the batch.</param>
/// <param name="Context">Tokens per window.</param>
public readonly record struct CharBatch(int[] Inputs, int[] Targets, int Count, int Context)
{
    /// <summary>The batch's input tokens.</summary>
    public ReadOnlySpan<int> InputTokens => Inputs.AsSpan(0, Count * Context);

    /// <summary>The batch's target tokens.</summary>
    public ReadOnlySpan<int> TargetTokens => Targets.AsSpan(0, Count * Context);
}
