using NormSharp.Errors;

namespace NormSharp.Experiments.Recipes;

/// <summary>Thrown when a new run is asked to start in a folder that already holds another run's work; nothing in the folder is changed.</summary>
public sealed class RunFolderOccupiedException : NormSharpException
{
    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>True when the folder holds a checkpointed run that can be resumed.</summary>
    public bool CanResume { get; }

    /// <summary>Creates the exception for <paramref name="directory"/>, saying what it holds.</summary>
    public RunFolderOccupiedException(string directory, string holds, bool canResume)
        : base($"{directory} already holds {holds}") => (Directory, CanResume) = (directory, canResume);
}
