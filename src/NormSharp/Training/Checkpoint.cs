using System.Security.Cryptography;
using System.Text.Json;
using NormSharp.Errors;
using NormSharp.IO.Safetensors;
using NormSharp.Tensors;

namespace NormSharp.Training;

/// <summary>
/// A training run's complete state in one safetensors file: model parameters and buffers
/// (<c>model.*</c>), optimizer state (<c>optim.*</c>), and in the metadata the configuration, the
/// position in the data, the generators' states and a SHA-256 that covers every metadata entry and every
/// tensor's name, shape and bytes (so an edited learning rate or step is detected like a flipped weight bit).
/// Written atomically (temporary file, flushed, renamed), so a checkpoint is always complete; the checksum
/// is verified on load. <see cref="Trainer.CreateCheckpoint"/> makes one, <see cref="Trainer.LoadCheckpoint(string)"/>
/// continues from one, and <see cref="CheckpointManager"/> keeps a run's last few.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The metadata key of the checksum.</summary>
    public const string ChecksumKey = "checksum_sha256";

    /// <summary>Tensors by name.</summary>
    public required IReadOnlyList<(string Name, Tensor Tensor)> Tensors { get; init; }

    /// <summary>Metadata entries (strings; structured values are JSON text).</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically, adding the checksum.</summary>
    public void Save(string path)
    {
        var meta = new Dictionary<string, string>(Metadata);
        meta.Remove(ChecksumKey);
        meta[ChecksumKey] = Checksum(Tensors, meta);
        SafetensorsWriter.Write(path, Tensors, meta);
    }

    /// <summary>Reads and verifies a checkpoint.</summary>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path)) throw new CorruptFileException(path, "no checkpoint there (expected a file written by a Trainer's CheckpointManager).");
        var file = SafetensorsFile.Read(path);
        var tensors = file.Entries.Select(e => (e.Name, file.GetTensor(e.Name))).ToList();
        var meta = file.Metadata;
        if (!meta.TryGetValue(ChecksumKey, out var expected))
            throw new CorruptFileException(path, $"the checkpoint has no {ChecksumKey} in its metadata; it was not written by NormSharp's Trainer.");
        string actual = Checksum(tensors, meta);
        if (!string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
            throw new CorruptFileException(path, $"checksum mismatch (stored {expected[..Math.Min(12, expected.Length)]}…, computed {actual[..12]}…): the checkpoint is damaged or was edited.");
        return new Checkpoint { Tensors = tensors, Metadata = meta };
    }

    /// <summary>A required metadata entry, or a clear error naming the file and the key.</summary>
    public string Require(string key, string source) =>
        Metadata.TryGetValue(key, out var v) ? v : throw new CorruptFileException(source, $"the checkpoint lacks the metadata entry '{key}'.");

    /// <summary>A required metadata entry that is a whole number.</summary>
    public long RequireLong(string key, string source) =>
        long.TryParse(Require(key, source), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v : throw new CorruptFileException(source, $"metadata '{key}' is not a whole number: '{Metadata[key]}'.");

    /// <summary>A required metadata entry that is a number (NaN and infinities allowed).</summary>
    public double RequireDouble(string key, string source) =>
        double.TryParse(Require(key, source), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v)
            ? v : throw new CorruptFileException(source, $"metadata '{key}' is not a number: '{Metadata[key]}'.");

    /// <summary>A required metadata entry parsed from JSON.</summary>
    public T RequireJson<T>(string key, string source)
    {
        string raw = Require(key, source);
        try
        {
            return JsonSerializer.Deserialize<T>(raw) ?? throw new CorruptFileException(source, $"metadata '{key}' is null.");
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(source, $"metadata '{key}' is not valid: {e.Message}", e);
        }
    }

    /// <summary>The tensor called <paramref name="name"/>, or a clear error.</summary>
    public Tensor RequireTensor(string name, string source)
    {
        foreach (var (n, t) in Tensors)
            if (n == name) return t;
        throw new CorruptFileException(source, $"the checkpoint has no tensor '{name}' (is it from another architecture?).");
    }

    /// <summary>
    /// SHA-256 over every metadata entry but the checksum (in key order) and every tensor (in name order): each
    /// string, the rank and each dimension are length-prefixed, so no two different checkpoints hash the same bytes.
    /// </summary>
    private static string Checksum(IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[8];
        void AppendLong(long v)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(number, v);
            sha.AppendData(number);
        }
        void AppendString(string s)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(s);
            AppendLong(bytes.Length);
            sha.AppendData(bytes);
        }
        var entries = metadata.Where(kv => kv.Key != ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        AppendLong(entries.Count);
        foreach (var (key, value) in entries)
        {
            AppendString(key);
            AppendString(value);
        }
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        AppendLong(ordered.Count);
        foreach (var (name, t) in ordered)
        {
            AppendString(name);
            AppendLong(t.Shape.Length);
            foreach (int d in t.Shape) AppendLong(d);
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
