namespace NormSharp.IO;

/// <summary>
/// Writes files so that they appear whole or not at all: the content goes to a temporary file in the same
/// folder, is flushed to disk, then renamed over the target. A crash or an exception while writing leaves the
/// old file (or none), never a torn one.
/// </summary>
public static class AtomicFile
{
    /// <summary>Creates the target's folder if needed, lets <paramref name="write"/> fill the file, then puts it in place at <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
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
}
