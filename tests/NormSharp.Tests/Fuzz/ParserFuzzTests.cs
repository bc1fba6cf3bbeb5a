using NormSharp.Datasets;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using CsCheck;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.IO.Idx;
using NormSharp.IO.Safetensors;

namespace NormSharp.Tests.Fuzz;

/// <summary>
/// Every input to a parser ends in a result or the project's own exception: never a system exception,
/// never an allocation beyond what the input justifies, never a hang.
/// </summary>
public class ParserFuzzTests
{
    private const int Iterations = 3000;

    private static readonly byte[] ValidSafetensors = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "golden", "layer_norm_odd_width.safetensors"));

    private static byte[] ValidIdx(bool gzip)
    {
        var payload = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)i).ToArray();
        var ms = new MemoryStream();
        var header = new byte[16];
        header[2] = 0x08;
        header[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 3);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), 4);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), 5);
        if (gzip)
        {
            using var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true);
            z.Write(header);
            z.Write(payload);
        }
        else
        {
            ms.Write(header);
            ms.Write(payload);
        }
        return ms.ToArray();
    }

    /// <summary>A mutation of valid bytes: truncation, bit flips, overwritten words, or appended junk.</summary>
    private static Gen<byte[]> Mutations(byte[] valid) =>
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, valid.Length], Gen.Int[0, 7], Gen.ULong, Gen.Byte.Array[0, 16], (kind, pos, bit, word, junk) =>
        {
            var b = (byte[])valid.Clone();
            switch (kind)
            {
                case 0: return b[..pos];
                case 1:
                    if (pos < b.Length) b[pos] ^= (byte)(1 << bit);
                    return b;
                case 2:
                    if (pos + 8 <= b.Length) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(pos), word);
                    return b;
                case 3:
                    if (pos + 4 <= b.Length) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(pos), (uint)word);
                    return b;
                default: return [.. b, .. junk];
            }
        });

    private static void OnlyOwnExceptions(Action parse)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            parse();
        }
        catch (NormSharpException)
        {
        }
        // Nothing here is larger than a few kilobytes, so tens of megabytes means a size was trusted.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "a parser allocated far more than its input justifies");
    }

    [Fact]
    public void SafetensorsMutations() =>
        Mutations(ValidSafetensors).Sample(bytes => OnlyOwnExceptions(() =>
        {
            var f = SafetensorsFile.Read(bytes, "fuzz.safetensors");
            foreach (var e in f.Entries) f.GetTensor(e.Name);
        }), iter: Iterations);

    private static readonly string[] Numbers = ["0", "1", "4", "-1", "7", "1e3", "4.5", "\"4\"", "null", "9223372036854775807", "18446744073709551616", "2147483648", "[]"];
    private static readonly string[] DTypes = ["\"F32\"", "\"F64\"", "\"BF16\"", "\"U8\"", "\"Q8\"", "1", "null", "\"\""];

    /// <summary>Headers built from hostile pieces: wrong types, negative, huge, reversed and overlapping values.</summary>
    private static Gen<byte[]> HostileHeaders =>
        Gen.Select(Gen.Int[1, 3], Gen.Int[0, DTypes.Length - 1], Gen.Int[0, Numbers.Length - 1].Array[0, 4], Gen.Int[0, Numbers.Length - 1].Array[0, 3], Gen.Int[0, 64], (tensors, dt, shape, offsets, data) =>
        {
            var sb = new StringBuilder("{");
            for (int t = 0; t < tensors; t++)
            {
                if (t > 0) sb.Append(',');
                sb.Append($"\"t{t % 2}\":{{\"dtype\":{DTypes[dt]},\"shape\":[{string.Join(",", shape.Select(i => Numbers[i]))}],\"data_offsets\":[{string.Join(",", offsets.Select(i => Numbers[i]))}]}}");
            }
            sb.Append('}');
            var h = Encoding.UTF8.GetBytes(sb.ToString());
            var bytes = new byte[8 + h.Length + data];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
            h.CopyTo(bytes, 8);
            return bytes;
        });

    [Fact]
    public void SafetensorsHostileHeaders() =>
        HostileHeaders.Sample(bytes => OnlyOwnExceptions(() =>
        {
            var f = SafetensorsFile.Read(bytes, "fuzz.safetensors");
            foreach (var e in f.Entries) f.GetTensor(e.Name);
        }), iter: Iterations);

    [Fact]
    public void SafetensorsRandomBytes() =>
        Gen.Byte.Array[0, 64].Sample(bytes => OnlyOwnExceptions(() => SafetensorsFile.Read(bytes, "random")), iter: Iterations);

    [Fact]
    public void IdxMutationsPlain() =>
        Mutations(ValidIdx(false)).Sample(bytes => OnlyOwnExceptions(() => IdxFile.Read(bytes, "fuzz.idx")), iter: Iterations);

    [Fact]
    public void IdxMutationsGzip() =>
        Mutations(ValidIdx(true)).Sample(bytes => OnlyOwnExceptions(() => IdxFile.Read(bytes, "fuzz.idx.gz")), iter: Iterations);

    [Fact]
    public void IdxHugeOrOverflowingDimensions() =>
        Gen.Select(Gen.Int[1, 255], Gen.UInt.Array[1, 6], (ndims, dims) =>
        {
            var b = new byte[4 + 4 * dims.Length + 8];
            b[2] = 0x0D;
            b[3] = (byte)ndims;
            for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
            return b;
        }).Sample(bytes => OnlyOwnExceptions(() => IdxFile.Read(bytes, "dims.idx")), iter: Iterations);

    [Fact]
    public void NpmDigitJsonMutations()
    {
        var valid = Encoding.UTF8.GetBytes("{\"data\":[" + string.Join(",", Enumerable.Repeat("0.5", 784)) + "]}");
        Mutations(valid).Sample(bytes => OnlyOwnExceptions(() =>
        {
            try
            {
                MnistDigits.ParseDigitJson(new MemoryStream(bytes), "0.json");
            }
            catch (System.Text.Json.JsonException)
            {
                // Malformed JSON inside the package: reported by the caller as a damaged package.
                throw new CorruptFileException("0.json", "bad JSON");
            }
        }), iter: 1000);
    }
}
