using NormSharp.Training;

namespace NormSharp.Data.Text;

/// <summary>
/// Cuts a <see cref="CharBatch"/> into consecutive windows, for micro-batches and the ranks of data-parallel
/// training. The parts' tokens are copied (a batch's arrays have no offset).
/// </summary>
public sealed class CharBatchSplitter : IBatchSplitter<CharBatch>
{
    /// <summary>The one instance.</summary>
    public static CharBatchSplitter Instance { get; } = new();

    /// <inheritdoc />
    public int Count(CharBatch batch) => batch.Count;

    /// <inheritdoc />
    public CharBatch Slice(CharBatch batch, int start, int count)
    {
        if (start < 0 || count < 0 || start + count > batch.Count)
            throw new ArgumentOutOfRangeException(nameof(start), $"CharBatchSplitter: windows [{start}, {start + count}) of a batch of {batch.Count}.");
        int from = start * batch.Context, length = count * batch.Context;
        return new CharBatch(batch.Inputs.AsSpan(from, length).ToArray(), batch.Targets.AsSpan(from, length).ToArray(), count, batch.Context);
    }
}
