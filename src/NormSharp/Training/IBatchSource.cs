namespace NormSharp.Training;

/// <summary>
/// Where a <see cref="Trainer{TBatch}"/> gets its batches, epoch after epoch. A source whose position can be
/// saved and restored also implements <see cref="ICheckpointState"/>; with such a source a resumed run sees
/// exactly the batches the uninterrupted run would have seen, so it ends with the same weights.
/// <see cref="Data.BatchLoader"/> is one; any <see cref="IEnumerable{T}"/> of batches can be used through
/// <see cref="EnumerableBatchSource{TBatch}"/>.
/// </summary>
/// <typeparam name="TBatch">What one batch is (the loss function receives it).</typeparam>
public interface IBatchSource<TBatch>
{
    /// <summary>Batches in one epoch, or null when the source cannot tell in advance.</summary>
    int? BatchesPerEpoch { get; }

    /// <summary>The next batch of the current epoch; false at the end of an epoch (the next call starts the next one).</summary>
    bool TryGetNext(out TBatch batch);
}
