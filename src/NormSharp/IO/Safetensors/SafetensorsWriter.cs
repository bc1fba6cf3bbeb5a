using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using NormSharp.Tensors;

namespace NormSharp.IO.Safetensors;

/// <summary>
/// Writes tensors in the safetensors format (float32 by default; F16, BF16 and I64 on request). The file
/// appears atomically (<see cref="AtomicFile"/>): a crash leaves either the old file or the new one, never a torn one.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (in the given order, as float32) with optional string metadata to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Write(path, tensors.Select(t => SafetensorsTensor.FromTensor(t.Name, t.Tensor)), metadata);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (in the given order), each in its own element type (F32, F16, BF16 or
    /// I64), with optional string metadata to <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in list)
        {
            if (t.Name == "__metadata__") throw new Errors.InvalidValueException("tensors", "safetensors: a tensor may not be called __metadata__.");
            if (!names.Add(t.Name)) throw new Errors.InvalidValueException("tensors", $"safetensors: the tensor name '{t.Name}' is used twice.");
        }
        byte[] header = BuildHeader(list, metadata);
        AtomicFile.Write(path, fs =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            fs.Write(len);
            fs.Write(header);
            var element = new byte[8];
            foreach (var t in list)
            {
                var raw = t.RawSingles;
                if (!raw.IsEmpty || t.ElementCount == 0) fs.Write(MemoryMarshal.AsBytes(raw));
                else
                    for (int i = 0; i < t.ElementCount; i++)
                    {
                        t.WriteElement(i, element);
                        fs.Write(element, 0, t.ElementSize);
                    }
            }
        });
    }

    private static byte[] BuildHeader(List<SafetensorsTensor> list, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in list)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DTypeName);
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.ElementSize * t.ElementCount;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data starts 8-byte aligned, as the format recommends.
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}
