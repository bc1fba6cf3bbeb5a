using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.IO.Safetensors;

/// <summary>
/// A parsed safetensors file: an 8-byte little-endian header length, a UTF-8 JSON header mapping names to
/// dtype, shape and byte offsets (plus an optional <c>__metadata__</c> object of strings), then the raw
/// little-endian data. Every structural rule is checked before anything is allocated from the
/// header's numbers; any violation is a <see cref="CorruptFileException"/> naming the file and the value.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>Largest header accepted (the format's reference implementation uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, int> DTypeSizes = new()
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
        ["U16"] = 2, ["U32"] = 4, ["U64"] = 8,
    };

    private readonly byte[] _data;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsEntry> _byName;

    /// <summary>Where the file came from (its path, or the name given to <see cref="Read(ReadOnlySpan{byte}, string)"/>).</summary>
    public string Source { get; }

    /// <summary>The <c>__metadata__</c> entries (the format allows string values only; a file with any other is refused).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors in the order of their data offsets.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    private SafetensorsFile(string source, byte[] data, long dataStart, IReadOnlyDictionary<string, string> metadata, List<SafetensorsEntry> entries)
    {
        Source = source;
        _data = data;
        _dataStart = dataStart;
        Metadata = metadata;
        Entries = entries;
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>Reads and validates a file.</summary>
    public static SafetensorsFile Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw new CorruptFileException(path, "file not found.");
        }
        catch (DirectoryNotFoundException)
        {
            throw new CorruptFileException(path, "file not found (its folder does not exist).");
        }
        return Parse(bytes, path);
    }

    /// <summary>
    /// Reads only the <c>__metadata__</c> of the file at <paramref name="path"/> (its header, not its data), for
    /// looking at many large files cheaply; <see cref="Read(string)"/> validates the whole file.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        byte[] header;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> len = stackalloc byte[8];
            fs.ReadExactly(len);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(len);
            if (headerLength > MaxHeaderBytes || (long)headerLength > fs.Length - 8)
                throw new CorruptFileException(path, $"declared header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit or the file.");
            header = new byte[headerLength];
            fs.ReadExactly(header);
        }
        catch (FileNotFoundException)
        {
            throw new CorruptFileException(path, "file not found.");
        }
        catch (EndOfStreamException)
        {
            throw new CorruptFileException(path, "too short for a safetensors file.");
        }
        using var doc = ParseHeader(header, path);
        return ReadMetadataObject(doc.RootElement, path);
    }

    /// <summary>Parses and validates bytes already in memory; <paramref name="sourceName"/> names them in errors.</summary>
    public static SafetensorsFile Read(ReadOnlySpan<byte> bytes, string sourceName) => Parse(bytes.ToArray(), sourceName);

    private static SafetensorsFile Parse(byte[] bytes, string source)
    {
        if (bytes.Length < 8)
            throw new CorruptFileException(source, $"too short for a safetensors file: {bytes.Length} bytes, but the header length alone takes 8.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes)
            throw new CorruptFileException(source, $"declared header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit.");
        if ((long)headerLength > bytes.Length - 8)
            throw new CorruptFileException(source, $"declared header length {headerLength} runs past the end of the file ({bytes.Length - 8} bytes follow the length).");
        if (headerLength < 2)
            throw new CorruptFileException(source, $"header length {headerLength} is too small to hold a JSON object.");
        long dataStart = 8 + (long)headerLength;
        long dataLength = bytes.Length - dataStart;
        using (var doc = ParseHeader(bytes.AsSpan(8, (int)headerLength), source))
        {
            var metadata = ReadMetadataObject(doc.RootElement, source);
            var entries = new List<SafetensorsEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw new CorruptFileException(source, $"the header names '{prop.Name}' twice.");
                if (prop.Name == "__metadata__") continue;
                entries.Add(ParseEntry(source, prop, dataLength));
            }
            entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            long cursor = 0;
            foreach (var e in entries)
            {
                if (e.Begin < cursor)
                    throw new CorruptFileException(source, $"tensor '{e.Name}' at bytes [{e.Begin}, {e.End}) overlaps the tensor before it, which ends at {cursor}.");
                if (e.Begin > cursor)
                    throw new CorruptFileException(source, $"a gap of {e.Begin - cursor} bytes precedes tensor '{e.Name}' at {e.Begin}; the format allows no holes in the data.");
                cursor = e.End;
            }
            if (cursor != dataLength)
                throw new CorruptFileException(source, $"the tensors cover {cursor} bytes of data but the file holds {dataLength} after the header.");
            return new SafetensorsFile(source, bytes, dataStart, metadata, entries);
        }
    }

    private static JsonDocument ParseHeader(ReadOnlySpan<byte> headerBytes, string source)
    {
        string headerText;
        try
        {
            headerText = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new CorruptFileException(source, $"the header is not valid UTF-8 (bad byte at offset {8 + e.Index}).", e);
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerText, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(source, $"the header is not valid JSON: {e.Message}", e);
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = doc.RootElement.ValueKind;
            doc.Dispose();
            throw new CorruptFileException(source, $"the header must be a JSON object, found {kind}.");
        }
        return doc;
    }

    private static Dictionary<string, string> ReadMetadataObject(JsonElement root, string source)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool seen = false;
        foreach (var prop in root.EnumerateObject())
        {
            if (prop.Name != "__metadata__") continue;
            if (seen) throw new CorruptFileException(source, "the header names '__metadata__' twice.");
            seen = true;
            if (prop.Value.ValueKind != JsonValueKind.Object)
                throw new CorruptFileException(source, $"__metadata__ must be an object, found {prop.Value.ValueKind}.");
            foreach (var m in prop.Value.EnumerateObject())
            {
                // The format allows only strings here (PyTorch's loader refuses anything else).
                if (m.Value.ValueKind != JsonValueKind.String)
                    throw new CorruptFileException(source, $"__metadata__ entry '{m.Name}' is a {m.Value.ValueKind.ToString().ToLowerInvariant()} ({Truncate(m.Value.GetRawText())}), but metadata values must be strings.");
                if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                    throw new CorruptFileException(source, $"__metadata__ names '{m.Name}' twice.");
            }
        }
        return metadata;
    }

    private static SafetensorsEntry ParseEntry(string source, JsonProperty prop, long dataLength)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object)
            throw new CorruptFileException(source, $"tensor '{name}' must be described by an object, found {v.ValueKind}.");
        if (!v.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw new CorruptFileException(source, $"tensor '{name}' has no string 'dtype'.");
        string dtype = dtypeEl.GetString()!;
        if (!DTypeSizes.TryGetValue(dtype, out int size))
            throw new CorruptFileException(source, $"tensor '{name}' has unknown dtype '{dtype}' (known: {string.Join(", ", DTypeSizes.Keys)}).");
        if (!v.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw new CorruptFileException(source, $"tensor '{name}' has no 'shape' array.");
        if (shapeEl.GetArrayLength() > 32)
            throw new CorruptFileException(source, $"tensor '{name}' has {shapeEl.GetArrayLength()} dimensions; at most 32 are supported.");
        var shape = new int[shapeEl.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0 || dim > int.MaxValue)
                throw new CorruptFileException(source, $"tensor '{name}' has an invalid dimension {d.GetRawText()} in its shape.");
            shape[i++] = (int)dim;
            elements = dim == 0 ? 0 : (elements > long.MaxValue / dim ? -1 : elements * dim);
            if (elements < 0 || elements > dataLength)
                throw new CorruptFileException(source, $"tensor '{name}' with shape {shapeEl.GetRawText()} declares more elements than the file's {dataLength} data bytes could hold.");
        }
        if (!v.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new CorruptFileException(source, $"tensor '{name}' needs 'data_offsets' as [begin, end].");
        long begin = ReadOffset(source, name, offEl[0]);
        long end = ReadOffset(source, name, offEl[1]);
        if (end < begin)
            throw new CorruptFileException(source, $"tensor '{name}' has reversed data_offsets [{begin}, {end}].");
        if (end > dataLength)
            throw new CorruptFileException(source, $"tensor '{name}' has data_offsets [{begin}, {end}] beyond the {dataLength} data bytes in the file.");
        if (end - begin != elements * size)
            throw new CorruptFileException(source, $"tensor '{name}' ({dtype}, shape {Errors.ShapeMismatchException.Format(shape)}) needs {elements * size} bytes but its data_offsets span {end - begin}.");
        foreach (var extra in v.EnumerateObject())
            if (extra.Name is not ("dtype" or "shape" or "data_offsets"))
                throw new CorruptFileException(source, $"tensor '{name}' has an unexpected field '{extra.Name}'.");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(string source, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw new CorruptFileException(source, $"tensor '{name}' has an invalid data offset {e.GetRawText()}.");
        return v;
    }

    /// <summary>True when a tensor called <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>
    /// The integers of the tensor called <paramref name="name"/>, exactly (no float32 rounding), for counters such
    /// as PyTorch's <c>num_batches_tracked</c>. The tensor must have an integer or BOOL element type.
    /// </summary>
    public long[] GetInt64(string name)
    {
        if (!_byName.TryGetValue(name, out var e))
            throw new CorruptFileException(Source, $"no tensor named '{name}'.");
        var bytes = _data.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
        var values = new long[e.ElementCount];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = e.DType switch
            {
                "I64" => BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]),
                "I32" => BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]),
                "I16" => BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]),
                "I8" => (sbyte)bytes[i],
                "U8" or "BOOL" => bytes[i],
                "U16" => BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]),
                "U32" => BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 * i)..]),
                "U64" => BinaryPrimitives.ReadUInt64LittleEndian(bytes[(8 * i)..]) is var u && u <= long.MaxValue ? (long)u
                    : throw new CorruptFileException(Source, $"tensor '{name}' (U64) holds {u}, beyond the int64 range."),
                _ => throw new CorruptFileException(Source, $"tensor '{name}' has element type {e.DType}; integers were expected."),
            };
        }
        return values;
    }

    /// <summary>The tensor called <paramref name="name"/> as float32 (F32 as is; F64, F16, BF16 and the integer types converted).</summary>
    public Tensor GetTensor(string name)
    {
        if (!_byName.TryGetValue(name, out var e))
            throw new CorruptFileException(Source, $"no tensor named '{name}' (it holds {Entries.Count}: {string.Join(", ", Entries.Take(8).Select(x => x.Name))}{(Entries.Count > 8 ? ", …" : "")}).");
        var bytes = _data.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
        var t = Tensor.Zeros(e.Shape);
        var dst = t.Span;
        switch (e.DType)
        {
            case "F32":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case "F64":
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                break;
            case "BF16":
                for (int i = 0; i < dst.Length; i++) dst[i] = BFloat16.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]));
                break;
            case "I64":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
                break;
            case "I32":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]);
                break;
            case "I16":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]);
                break;
            case "U16":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]);
                break;
            case "U32":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 * i)..]);
                break;
            case "U64":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(8 * i)..]);
                break;
            case "I8":
                for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)bytes[i];
                break;
            default: // U8, BOOL
                for (int i = 0; i < dst.Length; i++) dst[i] = bytes[i];
                break;
        }
        return t;
    }

    private static string Truncate(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
