using NormSharp.Training;

namespace NormSharp.Data;

/// <summary>Cuts a <see cref="LabeledBatch"/> into consecutive samples (input rows are views; labels are copied).</summary>
public sealed class LabeledBatchSplitter : IBatchSplitter<LabeledBatch>
{
    /// <summary>The one instance.</summary>
    public static LabeledBatchSplitter Instance { get; } = new();

    /// <inheritdoc />
    public int Count(LabeledBatch batch) => batch.Count;

    /// <inheritdoc />
    public LabeledBatch Slice(LabeledBatch batch, int start, int count) => batch.Slice(start, count);
}
