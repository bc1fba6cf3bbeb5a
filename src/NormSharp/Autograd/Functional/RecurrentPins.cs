using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// Pins the storage of the tensors a recurrent sequence kernel reads and writes for as long as it runs (it hands raw
/// pointers to the worker threads), without allocating: up to <see cref="Capacity"/> pinned handles, released by
/// <see cref="Dispose"/>.
/// </summary>
internal unsafe struct RecurrentPins : IDisposable
{
    public const int Capacity = 24;

    [InlineArray(Capacity)]
    private struct Handles
    {
        private GCHandle _element;
    }

    private Handles _handles;
    private int _count;

    /// <summary>A pointer to <paramref name="tensor"/>'s first element, pinned until disposal; null for a null tensor.</summary>
    public float* Pin(Tensor? tensor)
    {
        if (tensor is null) return null;
        if (_count == Capacity) throw new InvalidOperationException("RecurrentPins: too many tensors pinned at once.");
        var handle = GCHandle.Alloc(tensor.Storage, GCHandleType.Pinned);
        _handles[_count++] = handle;
        return (float*)handle.AddrOfPinnedObject() + tensor.Offset;
    }

    /// <summary>The value of <paramref name="v"/>, pinned; null for a null variable.</summary>
    public float* Pin(Variable? v) => v is null ? null : Pin(v.Value);

    public void Dispose()
    {
        for (int i = 0; i < _count; i++) _handles[i].Free();
        _count = 0;
    }
}
