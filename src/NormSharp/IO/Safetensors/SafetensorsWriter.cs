using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using NormSharp.Tensors;

namespace NormSharp.IO.Safetensors;

/// <summary>
/// Writes float32 tensors in the safetensors format. The file appears atomically: it is written to a
/// temporary file in the same folder, flushed to disk, then renamed over the target, so a crash leaves
/// either the old file or the new one, never a torn one.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (in the given order) with optional string metadata to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in list)
        {
            if (name == "__metadata__") throw new Errors.InvalidValueException("tensors", "safetensors: a tensor may not be called __metadata__.");
            if (!names.Add(name)) throw new Errors.InvalidValueException("tensors", $"safetensors: the tensor name '{name}' is used twice.");
        }
        byte[] header = BuildHeader(list, metadata);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                foreach (var (_, t) in list)
                {
                    var span = t.Span;
                    if (BitConverter.IsLittleEndian) fs.Write(MemoryMarshal.AsBytes(span));
                    else
                    {
                        var tmp = new byte[4];
                        foreach (float f in span)
                        {
                            BinaryPrimitives.WriteSingleLittleEndian(tmp, f);
                            fs.Write(tmp);
                        }
                    }
                }
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }

    private static byte[] BuildHeader(List<(string Name, Tensor Tensor)> list, IReadOnlyDictionary<string, string>? metadata)
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
            foreach (var (name, t) in list)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += 4L * t.Length;
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
