using System.Buffers.Binary;

namespace NormSharp.IO.Idx;

/// <summary>The contents of an IDX file: element type, dimensions, and the big-endian payload.</summary>
public sealed class IdxArray
{
    /// <summary>Creates an array; <paramref name="payload"/> must hold the product of <paramref name="dims"/> elements, big-endian.</summary>
    public IdxArray(IdxElementType type, int[] dims, byte[] payload)
    {
        int size = IdxElementTypes.SizeOf(type);
        if (size == 0) throw new Errors.InvalidValueException(nameof(type), $"IDX: 0x{(byte)type:X2} is not an IDX element type.");
        long count = dims.Aggregate(1L, (a, d) => d < 0 ? throw new Errors.InvalidValueException(nameof(dims), $"IDX: negative dimension {d}.") : a * d);
        if (payload.LongLength != count * size)
            throw new Errors.InvalidValueException(nameof(payload), $"IDX: {payload.LongLength} payload bytes for {count} elements of {size} bytes.");
        ElementType = type;
        Dims = (int[])dims.Clone();
        Payload = payload;
        Count = count;
    }

    /// <summary>The element type.</summary>
    public IdxElementType ElementType { get; }

    /// <summary>The dimensions (e.g. [60000, 28, 28]).</summary>
    public int[] Dims { get; }

    /// <summary>Number of elements.</summary>
    public long Count { get; }

    /// <summary>The raw big-endian payload.</summary>
    public byte[] Payload { get; }

    /// <summary>Element <paramref name="i"/> as a double.</summary>
    public double this[long i] => ElementType switch
    {
        IdxElementType.UInt8 => Payload[i],
        IdxElementType.Int8 => (sbyte)Payload[i],
        IdxElementType.Int16 => BinaryPrimitives.ReadInt16BigEndian(Payload.AsSpan((int)(2 * i))),
        IdxElementType.Int32 => BinaryPrimitives.ReadInt32BigEndian(Payload.AsSpan((int)(4 * i))),
        IdxElementType.Float32 => BinaryPrimitives.ReadSingleBigEndian(Payload.AsSpan((int)(4 * i))),
        _ => BinaryPrimitives.ReadDoubleBigEndian(Payload.AsSpan((int)(8 * i))),
    };

    /// <summary>A one-byte-per-element array from unsigned bytes.</summary>
    public static IdxArray FromBytes(byte[] values, params int[] dims) => new(IdxElementType.UInt8, dims, values);
}
