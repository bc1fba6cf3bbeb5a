using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.IO.Safetensors;

/// <summary>
/// One tensor to write with <see cref="SafetensorsWriter"/>: a name, a shape, the element type to store, and
/// the values (float32 values for the floating-point types, 64-bit integers for <see cref="SafetensorsDType.I64"/>).
/// </summary>
public sealed class SafetensorsTensor
{
    private readonly Tensor? _floats;
    private readonly long[]? _integers;
    private readonly int[] _shape;

    private SafetensorsTensor(string name, SafetensorsDType dtype, int[] shape, Tensor? floats, long[]? integers)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        DType = dtype;
        _shape = shape;
        _floats = floats;
        _integers = integers;
    }

    /// <summary>The tensor's name in the file.</summary>
    public string Name { get; }

    /// <summary>The element type stored.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>The dimensions (empty for a scalar).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of elements.</summary>
    public long ElementCount => _floats?.Length ?? _integers!.Length;

    /// <summary>
    /// <paramref name="tensor"/> stored as <paramref name="dtype"/> (F32, F16 or BF16; narrower types round to
    /// nearest even). The values are read when the file is written.
    /// </summary>
    public static SafetensorsTensor FromTensor(string name, Tensor tensor, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (dtype == SafetensorsDType.I64)
            throw new InvalidValueException(nameof(dtype), $"safetensors: tensor '{name}' holds float32 values; write integers with {nameof(SafetensorsTensor)}.{nameof(Int64)}.");
        return new SafetensorsTensor(name, dtype, tensor.Shape.ToArray(), tensor, null);
    }

    /// <summary>64-bit integers of shape <paramref name="shape"/> (no dimensions: a scalar, which needs one value).</summary>
    public static SafetensorsTensor Int64(string name, long[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        long count = Tensor.CheckedLength(shape);
        if (count != values.Length)
            throw new InvalidValueException(nameof(values), $"safetensors: tensor '{name}' of shape {ShapeMismatchException.Format(shape)} needs {count} values, got {values.Length}.");
        return new SafetensorsTensor(name, SafetensorsDType.I64, (int[])shape.Clone(), null, (long[])values.Clone());
    }

    /// <summary>Bytes per element in the file.</summary>
    internal int ElementSize => DType switch
    {
        SafetensorsDType.F32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        _ => 8,
    };

    /// <summary>The name the format gives the element type.</summary>
    internal string DTypeName => DType.ToString();

    /// <summary>Writes element <paramref name="index"/> little-endian into <paramref name="destination"/>.</summary>
    internal void WriteElement(int index, Span<byte> destination)
    {
        switch (DType)
        {
            case SafetensorsDType.F32:
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(destination, _floats!.Span[index]);
                break;
            case SafetensorsDType.F16:
                System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(destination, (Half)_floats!.Span[index]);
                break;
            case SafetensorsDType.BF16:
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(destination, BFloat16.FromSingle(_floats!.Span[index]));
                break;
            default:
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(destination, _integers![index]);
                break;
        }
    }

    /// <summary>The float32 values when they can be written as they lie in memory (F32 on a little-endian machine), else empty.</summary>
    internal ReadOnlySpan<float> RawSingles => DType == SafetensorsDType.F32 && BitConverter.IsLittleEndian ? _floats!.Span : default;
}
