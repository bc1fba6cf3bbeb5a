using System.Buffers.Binary;
using System.IO.Compression;
using NormSharp.Errors;

namespace NormSharp.IO.Idx;

/// <summary>
/// Reads and writes the IDX format of the MNIST family, plain or gzip-compressed (detected by the gzip
/// magic bytes, not the file name). The header is checked against what the file can hold before any
/// payload is allocated; a truncated file or trailing bytes are errors that name the file.
/// </summary>
public static class IdxFile
{
    /// <summary>Most bytes a deflate stream can expand one compressed byte into; bounds what a gzip file can justify.</summary>
    private const long MaxDeflateRatio = 1032;

    /// <summary>Reads an IDX file.</summary>
    public static IdxArray Read(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CorruptFileException(path, "file not found.");
        }
        using (file)
        {
            long fileLength = file.Length;
            Span<byte> sniff = stackalloc byte[2];
            int got = file.ReadAtLeast(sniff, 2, throwOnEndOfStream: false);
            file.Position = 0;
            bool gzip = got == 2 && sniff[0] == 0x1f && sniff[1] == 0x8b;
            if (!gzip) return ReadFrom(file, path, fileLength - 0, exactLength: true);
            using var z = new GZipStream(file, CompressionMode.Decompress);
            try
            {
                return ReadFrom(z, path, fileLength * MaxDeflateRatio + 1024, exactLength: false);
            }
            catch (InvalidDataException e)
            {
                throw new CorruptFileException(path, $"the gzip stream is damaged: {e.Message}", e);
            }
        }
    }

    /// <summary>Parses IDX bytes already in memory (plain or gzip); <paramref name="sourceName"/> names them in errors.</summary>
    public static IdxArray Read(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        bool gzip = bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        using var ms = new MemoryStream(bytes, writable: false);
        if (!gzip) return ReadFrom(ms, sourceName, bytes.Length, exactLength: true);
        using var z = new GZipStream(ms, CompressionMode.Decompress);
        try
        {
            return ReadFrom(z, sourceName, bytes.LongLength * MaxDeflateRatio + 1024, exactLength: false);
        }
        catch (InvalidDataException e)
        {
            throw new CorruptFileException(sourceName, $"the gzip stream is damaged: {e.Message}", e);
        }
    }

    private static IdxArray ReadFrom(Stream s, string path, long maxBytes, bool exactLength)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = s.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (got < 4) throw new CorruptFileException(path, $"truncated: {got} bytes, but an IDX header needs at least 4.");
        if (magic[0] != 0 || magic[1] != 0)
            throw new CorruptFileException(path, $"bad magic number {magic[0]:X2} {magic[1]:X2} {magic[2]:X2} {magic[3]:X2}: an IDX file starts with 00 00, then a type code and the number of dimensions.");
        var type = (IdxElementType)magic[2];
        int size = IdxElementTypes.SizeOf(type);
        if (size == 0) throw new CorruptFileException(path, $"unknown element type code 0x{magic[2]:X2} (expected 08, 09, 0B, 0C, 0D or 0E).");
        int ndims = magic[3];
        if (ndims == 0) throw new CorruptFileException(path, "the header declares 0 dimensions.");
        var dimBytes = new byte[4 * ndims];
        got = s.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false);
        if (got < dimBytes.Length) throw new CorruptFileException(path, $"truncated header: {ndims} dimensions need {dimBytes.Length} bytes, {got} present.");
        var dims = new int[ndims];
        long count = 1;
        for (int i = 0; i < ndims; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.AsSpan(4 * i));
            if (d > int.MaxValue) throw new CorruptFileException(path, $"dimension {i} is {d}, beyond what NormSharp can hold.");
            dims[i] = (int)d;
            count *= d;
            if (count * size > maxBytes || count * size > Array.MaxLength)
                throw new CorruptFileException(path, $"the dimensions [{string.Join(", ", dims.Take(i + 1))}{(i + 1 < ndims ? ", …" : "")}] declare more data than the file can hold.");
        }
        long payloadLength = count * size;
        long headerLength = 4 + 4L * ndims;
        if (exactLength && headerLength + payloadLength != maxBytes)
        {
            if (headerLength + payloadLength > maxBytes)
                throw new CorruptFileException(path, $"truncated: the header declares {payloadLength} bytes of data but only {maxBytes - headerLength} follow it.");
            throw new CorruptFileException(path, $"{maxBytes - headerLength - payloadLength} unexpected bytes follow the {payloadLength} bytes of data the header declares.");
        }
        var payload = GC.AllocateUninitializedArray<byte>((int)payloadLength);
        got = s.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false);
        if (got < payload.Length)
            throw new CorruptFileException(path, $"truncated: the header declares {payloadLength} bytes of data but the stream ends after {got}.");
        if (!exactLength && s.ReadByte() >= 0)
            throw new CorruptFileException(path, $"unexpected bytes follow the {payloadLength} bytes of data the header declares.");
        return new IdxArray(type, dims, payload);
    }

    /// <summary>Writes <paramref name="array"/> to <paramref name="path"/> atomically (temporary file, then rename), gzip-compressed if asked.</summary>
    public static void Write(string path, IdxArray array, bool gzip = false)
    {
        AtomicFile.Write(path, fs =>
        {
            Stream s = gzip ? new GZipStream(fs, CompressionLevel.Optimal, leaveOpen: true) : fs;
            var header = new byte[4 + 4 * array.Dims.Length];
            header[2] = (byte)array.ElementType;
            header[3] = (byte)array.Dims.Length;
            for (int i = 0; i < array.Dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), array.Dims[i]);
            s.Write(header);
            s.Write(array.Payload);
            if (gzip) s.Dispose();
        });
    }
}
