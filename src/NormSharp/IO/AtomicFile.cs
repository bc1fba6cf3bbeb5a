using System.Text.RegularExpressions;

namespace NormSharp.IO;

/// <summary>
/// Writes files so that they appear whole or not at all: the content goes to a temporary file in the same
/// folder (<c>.NAME.PID.RANDOM.tmp</c>), is flushed to disk, then renamed over the target. A crash or an
/// exception while writing leaves the old file (or none), never a torn one; a temporary file left by a
/// killed process is removed by <see cref="RemoveOrphans"/>.
/// </summary>
public static partial class AtomicFile
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
                write(WriteFaults.Wrap(fs, full));
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

    /// <summary>Writes <paramref name="text"/> as UTF-8 (without a byte-order mark) to <paramref name="path"/>, atomically.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(path, fs =>
        {
            var bytes = new System.Text.UTF8Encoding(false).GetBytes(text);
            fs.Write(bytes);
        });
    }

    /// <summary>True when <paramref name="fileName"/> is the name of one of this class's temporary files.</summary>
    public static bool IsTemporaryFile(string fileName) => TemporaryName().IsMatch(fileName);

    /// <summary>
    /// Deletes the temporary files that writers killed mid-write left in <paramref name="directory"/> and returns
    /// their names. Only safe while no other process writes into the folder (hold its <c>RunFolderLock</c>).
    /// </summary>
    public static IReadOnlyList<string> RemoveOrphans(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var removed = new List<string>();
        if (!Directory.Exists(directory)) return removed;
        foreach (string file in Directory.EnumerateFiles(directory, ".*.tmp"))
        {
            string name = Path.GetFileName(file);
            if (!IsTemporaryFile(name)) continue;
            try
            {
                File.Delete(file);
                removed.Add(name);
            }
            catch (IOException)
            {
                // Another file system problem: leave it; it is only a stray temporary file.
            }
        }
        return removed;
    }

    [GeneratedRegex(@"^\..+\.[0-9]+\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TemporaryName();
}
