using System.Globalization;
using System.Text;
using NormSharp.Errors;

namespace NormSharp.Training;

/// <summary>
/// An exclusive lock on a run folder, held while one process trains in it: an OS lock on the file <c>.lock</c>
/// in the folder (on Unix an advisory <c>flock</c>, which .NET takes for <see cref="FileShare.None"/>), so it
/// is released when the process ends however it ends (a killed run leaves no stale lock). A second process
/// asking for the same folder gets a <see cref="RunFolderInUseException"/> at once (unless the environment turns
/// .NET's file locks off with DOTNET_SYSTEM_IO_DISABLEFILELOCKING). The file itself stays; it
/// holds the owner's process id, for people (<c>cat</c> reads it; .NET readers take a shared lock and must wait).
/// </summary>
public sealed class RunFolderLock : IDisposable
{
    /// <summary>The lock file's name inside a run folder.</summary>
    public const string FileName = ".lock";

    private FileStream? _stream;

    private RunFolderLock(string directory, FileStream stream)
    {
        Directory = directory;
        _stream = stream;
    }

    /// <summary>The locked folder.</summary>
    public string Directory { get; }

    /// <summary>Creates <paramref name="directory"/> if needed and locks it; throws <see cref="RunFolderInUseException"/> when another process (or another lock in this one) holds it.</summary>
    public static RunFolderLock Acquire(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string full = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(full);
        string path = Path.Combine(full, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw new RunFolderInUseException(full, e);
        }
        try
        {
            var owner = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC\n"));
            stream.SetLength(0);
            stream.Write(owner);
            stream.Flush();
        }
        catch (IOException)
        {
            // The owner note is for people only; the lock is what matters, and it is held.
        }
        return new RunFolderLock(full, stream);
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
    }

    /// <summary>
    /// A lock held elsewhere: on Windows ERROR_SHARING_VIOLATION or ERROR_LOCK_VIOLATION; on Unix .NET reports the
    /// <c>flock</c> error itself, EWOULDBLOCK (11 on Linux, 35 on macOS and the BSDs).
    /// </summary>
    private static bool IsSharingViolation(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33
        : OperatingSystem.IsLinux() ? e.HResult == 11
        : e.HResult == 35;
}
