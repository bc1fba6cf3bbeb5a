namespace NormSharp.Training;

/// <summary>
/// Adapts any sequence of batches (a list, an array, an iterator) to <see cref="IBatchSource{TBatch}"/>:
/// each epoch enumerates the sequence once from the start. Its position cannot be saved, so a run resumed
/// from a checkpoint restarts the interrupted epoch's data from its beginning (the trainer says so).
/// </summary>
public sealed class EnumerableBatchSource<TBatch> : IBatchSource<TBatch>
{
    private readonly IEnumerable<TBatch> _batches;
    private IEnumerator<TBatch>? _current;

    /// <summary>Wraps <paramref name="batches"/>; it is enumerated once per epoch.</summary>
    public EnumerableBatchSource(IEnumerable<TBatch> batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        _batches = batches;
    }

    /// <inheritdoc />
    public int? BatchesPerEpoch => _batches switch
    {
        IReadOnlyCollection<TBatch> c => c.Count,
        ICollection<TBatch> c => c.Count,
        _ => null,
    };

    /// <inheritdoc />
    public bool TryGetNext(out TBatch batch)
    {
        _current ??= _batches.GetEnumerator();
        if (_current.MoveNext())
        {
            batch = _current.Current;
            return true;
        }
        _current.Dispose();
        _current = null;
        batch = default!;
        return false;
    }
}
