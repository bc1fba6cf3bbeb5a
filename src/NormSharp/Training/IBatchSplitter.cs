namespace NormSharp.Training;

/// <summary>
/// Cuts a batch into consecutive parts, for micro-batches (<c>Trainer{TBatch}.MicroBatches</c>) and for the
/// ranks of data-parallel training. <see cref="Data.LabeledBatch"/> has one (<see cref="Data.LabeledBatchSplitter"/>).
/// </summary>
public interface IBatchSplitter<TBatch>
{
    /// <summary>Samples in <paramref name="batch"/>.</summary>
    int Count(TBatch batch);

    /// <summary>Samples [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of <paramref name="batch"/>.</summary>
    TBatch Slice(TBatch batch, int start, int count);
}
