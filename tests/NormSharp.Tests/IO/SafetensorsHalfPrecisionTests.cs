using System.Buffers.Binary;
using System.Text;
using NormSharp.Errors;
using NormSharp.IO.Safetensors;
using NormSharp.Tensors;

namespace NormSharp.Tests.IO;

/// <summary>
/// F16 and BF16 tensors (most published checkpoints) are read as float32 exactly; the writer rounds float32 to
/// them to nearest even. Files are written here byte by byte from known bit patterns.
/// </summary>
public class SafetensorsHalfPrecisionTests
{
    /// <summary>A one-tensor safetensors file holding 16-bit elements <paramref name="bits"/>.</summary>
    private static SafetensorsFile FileOf(string dtype, ushort[] bits)
    {
        var header = Encoding.UTF8.GetBytes($"{{\"t\":{{\"dtype\":\"{dtype}\",\"shape\":[{bits.Length}],\"data_offsets\":[0,{2 * bits.Length}]}}}}");
        var bytes = new byte[8 + header.Length + 2 * bits.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (int i = 0; i < bits.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8 + header.Length + 2 * i), bits[i]);
        return SafetensorsFile.Read(bytes, "half.safetensors");
    }

    private static void AssertSameFloats(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"element {i}: expected {expected[i]:R} (bits {BitConverter.SingleToInt32Bits(expected[i]):X8}), got {actual[i]:R} (bits {BitConverter.SingleToInt32Bits(actual[i]):X8})");
    }

    [Fact]
    public void F16ValuesIncludingSubnormalsInfinitiesAndNaNAreReadExactly()
    {
        ushort[] bits = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x3555];
        float[] expected =
        [
            1f, -2f, 65504f,
            MathF.ScaleB(1f, -24),          // smallest subnormal
            MathF.ScaleB(1023f, -24),       // largest subnormal
            MathF.ScaleB(1f, -14),          // smallest normal
            -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN,
            MathF.ScaleB(0x555 | 0x400, -12), // 1.0101010101b · 2^-2 = 0.333251953125
        ];
        var t = FileOf("F16", bits).GetTensor("t");
        Assert.Equal([bits.Length], t.Shape.ToArray());
        AssertSameFloats(expected, t.ToArray());
    }

    [Fact]
    public void BF16ValuesIncludingSubnormalsInfinitiesAndNaNAreReadExactly()
    {
        ushort[] bits = [0x3F80, 0xC040, 0x0001, 0x007F, 0x0080, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x8000, 0x3EAB];
        float[] expected =
        [
            1f, -3f,
            MathF.ScaleB(1f, -133),            // smallest subnormal
            MathF.ScaleB(127f, -133),          // largest subnormal
            MathF.ScaleB(1f, -126),            // smallest normal
            MathF.ScaleB(255f, 120),           // largest finite: 1.1111111b · 2^127
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, -0f,
            MathF.ScaleB(0xAB | 0x80, -9),     // 1.0101011b · 2^-2 = 0.333984375
        ];
        AssertSameFloats(expected, FileOf("BF16", bits).GetTensor("t").ToArray());
    }

    private static ushort[] WrittenBits(SafetensorsDType dtype, float[] values)
    {
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "w.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsTensor.FromTensor("t", Tensor.FromValues(values, values.Length), dtype)]);
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Contains($"\"dtype\":\"{dtype}\"", Encoding.UTF8.GetString(bytes, 8, headerLength));
        Assert.Equal(8 + headerLength + 2 * values.Length, bytes.Length);
        var file = SafetensorsFile.Read(path);
        Assert.Equal(dtype.ToString(), file.Entries.Single().DType);
        return Enumerable.Range(0, values.Length).Select(i => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8 + headerLength + 2 * i))).ToArray();
    }

    [Fact]
    public void BF16WritingRoundsToNearestEvenAndKeepsNaNAndSignedZero()
    {
        float one = 1f, ulp = MathF.ScaleB(1f, -7); // spacing of bfloat16 values in [1, 2)
        float[] values =
        [
            one + ulp / 2,                          // tie: to the even neighbour 1
            one + 3 * ulp / 2,                      // tie: to the even neighbour 1 + 2 ulp
            one + ulp / 2 + MathF.ScaleB(1f, -20),  // just past the tie: up
            one + ulp / 2 - MathF.ScaleB(1f, -20),  // just before the tie: down
            float.MaxValue,                         // past the largest bfloat16: infinity, as PyTorch rounds
            BitConverter.Int32BitsToSingle(0x7F800001), // a NaN whose payload truncation would lose
            -0f,
            MathF.ScaleB(3f, -134),                 // subnormal 1.5 · 2^-133: tie to even, 2 · 2^-133
            -2.5f,
        ];
        ushort[] expected = [0x3F80, 0x3F82, 0x3F81, 0x3F80, 0x7F80, 0x7FC0, 0x8000, 0x0002, 0xC020];
        Assert.Equal(expected, WrittenBits(SafetensorsDType.BF16, values));
    }

    [Fact]
    public void F16WritingRoundsToNearestEvenWithSubnormalsAndOverflow()
    {
        float[] values = [1f + MathF.ScaleB(1f, -11), 65504f, 65520f, MathF.ScaleB(1f, -25), MathF.ScaleB(3f, -25), float.NegativeInfinity, float.NaN];
        ushort[] expected = [0x3C00, 0x7BFF, 0x7C00, 0x0000, 0x0002, 0xFC00, 0x7E00];
        var written = WrittenBits(SafetensorsDType.F16, values);
        Assert.Equal(expected[..6], written[..6]);
        Assert.True((written[6] & 0x7C00) == 0x7C00 && (written[6] & 0x03FF) != 0, $"NaN written as {written[6]:X4}");
    }

    [Fact]
    public void WrittenHalfPrecisionTensorsReadBackAsTheRoundedValues()
    {
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "m.safetensors");
        var values = Tensor.FromValues([0.1f, -1.7f, 3e-6f, 1000.3f, 0f, 42f], 2, 3);
        SafetensorsWriter.Write(path,
        [
            SafetensorsTensor.FromTensor("half", values, SafetensorsDType.F16),
            SafetensorsTensor.FromTensor("brain", values, SafetensorsDType.BF16),
            SafetensorsTensor.FromTensor("single", values),
        ]);
        var f = SafetensorsFile.Read(path);
        Assert.Equal(values.ToArray().Select(v => (float)(Half)v), f.GetTensor("half").ToArray());
        Assert.Equal([0.10009765625f, -1.703125f, 2.9951334e-06f, 1000f, 0f, 42f], f.GetTensor("brain").ToArray());
        Assert.Equal(values.ToArray(), f.GetTensor("single").ToArray());
        Assert.Equal([2, 3], f.GetTensor("brain").Shape.ToArray());
    }

    [Fact]
    public void Int64TensorsKeepEveryDigitIncludingScalars()
    {
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "i.safetensors");
        long big = (1L << 53) + 1; // not representable as a double, let alone a float
        SafetensorsWriter.Write(path, [SafetensorsTensor.Int64("count", [big]), SafetensorsTensor.Int64("pair", [-3, 7], 2), SafetensorsTensor.FromTensor("w", Tensor.Full(1f, 2))]);
        var f = SafetensorsFile.Read(path);
        var count = f.Entries.Single(e => e.Name == "count");
        Assert.Equal("I64", count.DType);
        Assert.Empty(count.Shape);
        Assert.Equal([big], f.GetInt64("count"));
        Assert.Equal([-3L, 7L], f.GetInt64("pair"));
        Assert.Contains("integers were expected", Assert.Throws<CorruptFileException>(() => f.GetInt64("w")).Message);
        Assert.Contains("needs 2 values", Assert.Throws<InvalidValueException>(() => SafetensorsTensor.Int64("x", [1], 2)).Message);
        Assert.Throws<InvalidValueException>(() => SafetensorsTensor.FromTensor("x", Tensor.Full(1f, 2), SafetensorsDType.I64));
    }
}
