namespace NormSharp.IO.Safetensors;

/// <summary>Conversions between float32 and bfloat16 bit patterns (bfloat16 is the upper half of a float32).</summary>
internal static class BFloat16
{
    /// <summary>The float32 a bfloat16 pattern stands for (exact: every bfloat16 is a float32).</summary>
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>
    /// The nearest bfloat16 (ties to even, as PyTorch rounds). A NaN stays a NaN of the same sign, made quiet so
    /// that truncating its payload cannot turn it into infinity; finite values past the largest bfloat16 round
    /// to infinity.
    /// </summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint lsb = (bits >> 16) & 1;
        return (ushort)((bits + 0x7FFFu + lsb) >> 16);
    }
}
