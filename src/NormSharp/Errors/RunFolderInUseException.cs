namespace NormSharp.Errors;

/// <summary>
/// Thrown when a run folder is locked by another training process (<see cref="Training.RunFolderLock"/>). An
/// <see cref="IOException"/>: the folder is busy, which may pass, rather than the request being wrong.
/// </summary>
public sealed class RunFolderInUseException : IOException
{
    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>Creates the exception for <paramref name="directory"/>.</summary>
    public RunFolderInUseException(string directory, Exception inner)
        : base($"{directory} is in use by another training process (it holds the lock {Path.Combine(directory, Training.RunFolderLock.FileName)}); wait for it to end, stop it, or use another folder.", inner)
        => Directory = directory;
}
