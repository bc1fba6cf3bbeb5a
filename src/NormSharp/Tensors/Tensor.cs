using System.Runtime.CompilerServices;
using NormSharp.Errors;

namespace NormSharp.Tensors;

/// <summary>
/// A dense, row-major float32 tensor: a shape over a contiguous window of a float array.
/// Reshapes and leading-dimension slices are views that share the storage; nothing here copies unless it says so.
/// </summary>
public sealed partial class Tensor
{
    private readonly float[] _storage;
    private readonly int _offset;
    private readonly int[] _shape;
    private readonly VersionCounter _version;

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>
    /// A view of <paramref name="shape"/> over the storage of <paramref name="source"/> starting at <paramref name="offset"/>.
    /// A factory rather than a constructor: an (array, int, int) constructor would read a rows×cols call as an offset.
    /// </summary>
    /// <remarks>The view shares <paramref name="source"/>'s storage and its version counter.</remarks>
    internal static Tensor View(Tensor source, int offset, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(source);
        var storage = source._storage;
        var dims = shape.ToArray();
        long n = CheckedLength(dims);
        if (offset < 0 || offset + n > storage.Length)
            throw new ShapeMismatchException($"Tensor: shape {ShapeMismatchException.Format(dims)} needs {n} elements from offset {offset}, but the storage holds {storage.Length}.");
        return new Tensor(storage, offset, dims, (int)n, source._version);
    }

    private Tensor(float[] storage, int offset, int[] shape, int length, VersionCounter version)
    {
        _storage = storage;
        _offset = offset;
        _shape = shape;
        Length = length;
        _version = version;
    }

    /// <summary>Wraps <paramref name="data"/> (no copy); its length must equal the product of <paramref name="shape"/>.</summary>
    public Tensor(float[] data, params ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        _shape = shape.ToArray();
        long n = CheckedLength(_shape);
        if (n != data.Length)
            throw new ShapeMismatchException($"Tensor: shape {ShapeMismatchException.Format(shape)} holds {n} elements, but the data has {data.Length}.");
        _storage = data;
        _offset = 0;
        Length = (int)n;
        _version = new VersionCounter();
    }

    /// <summary>A new zero-filled tensor.</summary>
    public static Tensor Zeros(params ReadOnlySpan<int> shape) => new(new float[CheckedLength(shape)], shape);

    /// <summary>A new tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params ReadOnlySpan<int> shape)
    {
        var t = Zeros(shape);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A new tensor holding a copy of <paramref name="values"/>.</summary>
    public static Tensor FromValues(ReadOnlySpan<float> values, params ReadOnlySpan<int> shape)
    {
        var t = Zeros(shape);
        if (t.Length != values.Length)
            throw new ShapeMismatchException($"Tensor: shape {ShapeMismatchException.Format(shape)} holds {t.Length} elements, but {values.Length} values were given.");
        values.CopyTo(t.Span);
        return t;
    }

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis)
    {
        int a = axis < 0 ? axis + _shape.Length : axis;
        if ((uint)a >= (uint)_shape.Length)
            throw new ShapeMismatchException($"Tensor: axis {axis} is out of range for shape {ShapeMismatchException.Format(_shape)}.");
        return _shape[a];
    }

    /// <summary>The elements, row-major.</summary>
    public Span<float> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_storage, _offset, Length);
    }

    /// <summary>The underlying storage array (shared with views).</summary>
    internal float[] Storage => _storage;

    /// <summary>Index of the first element inside <see cref="Storage"/>.</summary>
    internal int Offset => _offset;

    /// <summary>Flat element access.</summary>
    public float this[int index]
    {
        get => Span[index];
        set => Span[index] = value;
    }

    /// <summary>Element access for a rank-2 tensor; the rank and both indices are checked.</summary>
    public float this[int row, int col]
    {
        get => Span[FlatIndex(row, col)];
        set => Span[FlatIndex(row, col)] = value;
    }

    /// <summary>Element access for a rank-3 tensor; the rank and every index are checked.</summary>
    public float this[int i, int j, int k]
    {
        get => Span[FlatIndex(i, j, k)];
        set => Span[FlatIndex(i, j, k)] = value;
    }

    private int FlatIndex(int row, int col)
    {
        if (_shape.Length != 2)
            throw new ShapeMismatchException($"Tensor: two indices address a rank-2 tensor, but this one has shape {ShapeMismatchException.Format(_shape)}.");
        if ((uint)row >= (uint)_shape[0] || (uint)col >= (uint)_shape[1])
            throw new IndexOutOfRangeException($"Tensor: index [{row}, {col}] is outside shape {ShapeMismatchException.Format(_shape)}.");
        return row * _shape[1] + col;
    }

    private int FlatIndex(int i, int j, int k)
    {
        if (_shape.Length != 3)
            throw new ShapeMismatchException($"Tensor: three indices address a rank-3 tensor, but this one has shape {ShapeMismatchException.Format(_shape)}.");
        if ((uint)i >= (uint)_shape[0] || (uint)j >= (uint)_shape[1] || (uint)k >= (uint)_shape[2])
            throw new IndexOutOfRangeException($"Tensor: index [{i}, {j}, {k}] is outside shape {ShapeMismatchException.Format(_shape)}.");
        return (i * _shape[1] + j) * _shape[2] + k;
    }

    /// <summary>
    /// Counts in-place modifications of the storage this tensor shares with its views (PyTorch's
    /// <c>_version</c>). Writes through <see cref="Span"/> are not counted; <see cref="CopyFrom"/>,
    /// <see cref="MarkModified"/> and the library's own buffer reuse are. An autograd
    /// <c>Variable</c> made from a tensor remembers its version and refuses to be used once it changed.
    /// </summary>
    public int Version => _version.Value;

    /// <summary>
    /// Declares that the storage was (or is about to be) overwritten in place: variables made from it
    /// before then fail loudly instead of silently seeing the new values. Call it when a buffer that
    /// was handed out is refilled (a data loader reusing its batch buffer, for example).
    /// </summary>
    public void MarkModified() => _version.Value++;

    /// <summary>True when this tensor and <paramref name="other"/> are windows of the same storage.</summary>
    internal bool SharesStorageWith(Tensor other) => ReferenceEquals(_storage, other._storage);

    /// <summary>A view with another shape over the same elements; one dimension may be -1 (inferred).</summary>
    public Tensor Reshape(params ReadOnlySpan<int> shape)
    {
        Span<int> resolved = stackalloc int[shape.Length];
        shape.CopyTo(resolved);
        int infer = -1;
        long known = 1;
        for (int i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (infer >= 0) throw new ShapeMismatchException($"Reshape: only one dimension may be -1 in {ShapeMismatchException.Format(shape)}.");
                infer = i;
            }
            else if (resolved[i] < 0) throw new ShapeMismatchException($"Reshape: negative dimension in {ShapeMismatchException.Format(shape)}.");
            else known *= resolved[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Length % known != 0)
                throw new ShapeMismatchException($"Reshape: cannot view {ShapeMismatchException.Format(_shape)} ({Length} elements) as {ShapeMismatchException.Format(shape)}.");
            resolved[infer] = (int)(Length / known);
            known *= resolved[infer];
        }
        if (known != Length)
            throw new ShapeMismatchException($"Reshape: cannot view {ShapeMismatchException.Format(_shape)} ({Length} elements) as {ShapeMismatchException.Format(shape)} ({known} elements).");
        return View(this, _offset, resolved);
    }

    /// <summary>A view of <paramref name="count"/> entries of the first dimension starting at <paramref name="start"/>.</summary>
    public Tensor Narrow(int start, int count)
    {
        if (Rank == 0) throw new ShapeMismatchException("Narrow: a scalar has no first dimension.");
        if (start < 0 || count < 0 || start + count > _shape[0])
            throw new ShapeMismatchException($"Narrow: rows [{start}, {start + count}) are outside the first dimension of {ShapeMismatchException.Format(_shape)}.");
        int inner = _shape[0] == 0 ? 0 : Length / _shape[0];
        Span<int> s = stackalloc int[_shape.Length];
        _shape.CopyTo(s);
        s[0] = count;
        return View(this, _offset + start * inner, s);
    }

    /// <summary>A deep copy with its own storage.</summary>
    public Tensor Clone()
    {
        var t = Zeros(_shape);
        Span.CopyTo(t.Span);
        return t;
    }

    /// <summary>Copies the elements of <paramref name="source"/>, which must have as many elements, into this tensor.</summary>
    public void CopyFrom(Tensor source)
    {
        if (source.Length != Length)
            throw new ShapeMismatchException($"CopyFrom: source {ShapeMismatchException.Format(source.Shape)} and destination {ShapeMismatchException.Format(_shape)} differ in size.");
        MarkModified();
        source.Span.CopyTo(Span);
    }

    /// <summary>True when <paramref name="shape"/> equals this tensor's shape.</summary>
    public bool HasShape(params ReadOnlySpan<int> shape) => shape.SequenceEqual(_shape);

    /// <summary>The elements as a new array.</summary>
    public float[] ToArray() => Span.ToArray();

    /// <summary>Product of the dimensions, checked for negative sizes and overflow.</summary>
    public static long CheckedLength(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ShapeMismatchException($"Tensor: negative dimension in shape {ShapeMismatchException.Format(shape)}.");
            n *= d;
            if (n > Array.MaxLength) throw new ShapeMismatchException($"Tensor: shape {ShapeMismatchException.Format(shape)} has more elements than an array can hold.");
        }
        return n;
    }

    /// <summary>The shared, mutable version of a storage; a class so that every view sees one count.</summary>
    private sealed class VersionCounter
    {
        public int Value;
    }
}
