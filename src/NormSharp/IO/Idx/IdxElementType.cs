namespace NormSharp.IO.Idx;

/// <summary>Element types of the IDX format, by their type code (the third byte of the magic number).</summary>
public enum IdxElementType : byte
{
    /// <summary>unsigned byte.</summary>
    UInt8 = 0x08,
    /// <summary>signed byte.</summary>
    Int8 = 0x09,
    /// <summary>big-endian 16-bit integer.</summary>
    Int16 = 0x0B,
    /// <summary>big-endian 32-bit integer.</summary>
    Int32 = 0x0C,
    /// <summary>big-endian IEEE single.</summary>
    Float32 = 0x0D,
    /// <summary>big-endian IEEE double.</summary>
    Float64 = 0x0E,
}

/// <summary>Sizes of the IDX element types.</summary>
public static class IdxElementTypes
{
    /// <summary>Bytes per element, or 0 for a code that is not an IDX type.</summary>
    public static int SizeOf(IdxElementType t) => t switch
    {
        IdxElementType.UInt8 or IdxElementType.Int8 => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Float32 => 4,
        IdxElementType.Float64 => 8,
        _ => 0,
    };
}
