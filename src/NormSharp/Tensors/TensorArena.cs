namespace NormSharp.Tensors;

/// <summary>
/// Hands out scratch tensors for one training step and takes them all back at <see cref="Reset"/>.
/// A training step asks for the same shapes in the same order every time, so the arena replays:
/// the i-th request of a step gets the tensor that served the i-th request of the last step when the
/// shape matches. After the first step nothing is allocated. Handing a tensor out again bumps its
/// <see cref="Tensor.Version"/>, so anything still made from its last use fails loudly.
/// </summary>
public sealed class TensorArena
{
    private readonly List<Tensor> _slots = new();
    private int _cursor;

    /// <summary>Number of tensors handed out since the last <see cref="Reset"/>.</summary>
    public int Cursor => _cursor;

    /// <summary>Bytes of the tensors handed out since the last <see cref="Reset"/>.</summary>
    public long BytesInUse { get; private set; }

    /// <summary>Bytes of every tensor the arena keeps, in use or free.</summary>
    public long BytesHeld
    {
        get
        {
            long bytes = 0;
            foreach (var t in _slots) bytes += (long)t.Storage.Length * sizeof(float);
            return bytes;
        }
    }

    /// <summary>A tensor of <paramref name="shape"/>; its contents are whatever the last step left (see <see cref="RentZeroed"/>).</summary>
    public Tensor Rent(params ReadOnlySpan<int> shape)
    {
        Tensor t;
        if (_cursor < _slots.Count)
        {
            var slot = _slots[_cursor];
            if (slot.HasShape(shape))
            {
                // Whatever a caller still holds from the slot's last use is about to be overwritten.
                slot.MarkModified();
                t = slot;
            }
            else
            {
                // The step changed shape (last batch of an epoch, say): keep the storage if it is large enough.
                long need = Tensor.CheckedLength(shape);
                t = need <= slot.Storage.Length ? Tensor.View(slot, 0, shape) : Tensor.Zeros(shape);
                t.MarkModified();
                _slots[_cursor] = t;
            }
        }
        else
        {
            t = Tensor.Zeros(shape);
            _slots.Add(t);
        }
        _cursor++;
        BytesInUse += (long)t.Length * sizeof(float);
        return t;
    }

    /// <summary>A zero-filled tensor of <paramref name="shape"/>.</summary>
    public Tensor RentZeroed(params ReadOnlySpan<int> shape)
    {
        var t = Rent(shape);
        t.Span.Clear();
        return t;
    }

    /// <summary>Takes every tensor back; those handed out before must not be used afterwards.</summary>
    public void Reset()
    {
        _cursor = 0;
        BytesInUse = 0;
    }

    /// <summary>Takes every tensor back and lets go of them, so their memory can be collected.</summary>
    public void Release()
    {
        _slots.Clear();
        Reset();
    }

    /// <summary>
    /// Keeps only the handed-out tensors in <paramref name="keep"/> (ranges of hand-out positions, in
    /// increasing order) in use, moved to the front in their order; every other tensor handed out is
    /// taken back. Returns, for each kept range, its new start.
    /// </summary>
    internal int[] Compact(IReadOnlyList<(int Start, int End)> keep)
    {
        var inUse = new List<Tensor>(_cursor);
        var free = new List<Tensor>(_slots.Count);
        var starts = new int[keep.Count];
        int next = 0;
        for (int r = 0; r < keep.Count; r++)
        {
            var (start, end) = keep[r];
            for (; next < start; next++) free.Add(_slots[next]);
            starts[r] = inUse.Count;
            for (; next < end; next++) inUse.Add(_slots[next]);
        }
        for (; next < _slots.Count; next++) free.Add(_slots[next]);
        _slots.Clear();
        _slots.AddRange(inUse);
        _slots.AddRange(free);
        _cursor = inUse.Count;
        long bytes = 0;
        foreach (var t in inUse) bytes += (long)t.Length * sizeof(float);
        BytesInUse = bytes;
        return starts;
    }
}
