namespace NormSharp.Tensors;

/// <summary>
/// Hands out scratch tensors for one training step and takes them all back at <see cref="Reset"/>.
/// A training step asks for the same shapes in the same order every time, so the arena replays:
/// the i-th request of a step gets the tensor that served the i-th request of the last step when the
/// shape matches. After the first step nothing is allocated.
/// </summary>
public sealed class TensorArena
{
    private readonly List<Tensor> _slots = new();
    private int _cursor;

    /// <summary>A tensor of <paramref name="shape"/>; its contents are whatever the last step left (see <see cref="RentZeroed"/>).</summary>
    public Tensor Rent(params ReadOnlySpan<int> shape)
    {
        if (_cursor < _slots.Count)
        {
            var slot = _slots[_cursor];
            if (slot.HasShape(shape))
            {
                _cursor++;
                return slot;
            }
            // The step changed shape (last batch of an epoch, say): keep the storage if it is large enough.
            long need = Tensor.CheckedLength(shape);
            var fresh = need <= slot.Storage.Length ? Tensor.View(slot.Storage, 0, shape) : Tensor.Zeros(shape);
            _slots[_cursor++] = fresh;
            return fresh;
        }
        var t = Tensor.Zeros(shape);
        _slots.Add(t);
        _cursor++;
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
    public void Reset() => _cursor = 0;
}
