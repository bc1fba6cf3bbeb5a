namespace NormSharp.IO;

/// <summary>
/// A test seam: when <see cref="NoSpaceLeft"/> says so for a path, the writers of this assembly (atomic files,
/// metrics rows) fail as a full disk makes them fail, with an <see cref="IOException"/> whose HResult is
/// ENOSPC's. Unset (null) in normal use, when it costs one lookup per write. The setting flows with the async
/// context (and into threads started from it), so tests running side by side each keep their own.
/// </summary>
internal static class WriteFaults
{
    /// <summary>ENOSPC, as .NET reports it on Unix in <see cref="Exception.HResult"/>.</summary>
    public const int NoSpaceHResult = 28;

    /// <summary>Given the full path of the file being written, true when the write should fail for lack of space.</summary>
    public static Func<string, bool>? NoSpaceLeft
    {
        get => Fault.Value;
        set => Fault.Value = value;
    }

    private static readonly AsyncLocal<Func<string, bool>?> Fault = new();

    /// <summary>Throws the full-disk error for <paramref name="path"/> when the seam says so.</summary>
    public static void Check(string path)
    {
        if (NoSpaceLeft is { } fault && fault(path)) throw NoSpace(path);
    }

    /// <summary>The error a full disk raises.</summary>
    public static IOException NoSpace(string path) => new($"No space left on device : '{path}'", NoSpaceHResult);

    /// <summary>The stream itself, or one that fails on its first write when the seam says so.</summary>
    public static Stream Wrap(Stream stream, string path) =>
        NoSpaceLeft is { } fault && fault(path) ? new FailingStream(stream, path) : stream;

    private sealed class FailingStream(Stream inner, string path) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => throw NoSpace(path);
        public override void Write(ReadOnlySpan<byte> buffer) => throw NoSpace(path);
    }
}
