namespace NormSharp.Errors;

/// <summary>Thrown when a checkpoint was written by another run (another configuration or other data) than the one asked to continue from it.</summary>
public sealed class ForeignCheckpointException : NormSharpException
{
    /// <summary>The checkpoint file.</summary>
    public string FileName { get; }

    /// <summary>Creates the exception for the checkpoint at <paramref name="source"/>; the message is prefixed with it.</summary>
    public ForeignCheckpointException(string source, string problem) : base($"{source}: {problem}") => FileName = source;
}
