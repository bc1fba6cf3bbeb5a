namespace NormSharp.Errors;

/// <summary>Thrown when a file (safetensors, IDX, checkpoint, dataset) is malformed: the message names the file and what was expected.</summary>
public sealed class CorruptFileException : NormSharpException
{
    /// <summary>The file that failed to parse, or a description of the source when it is not a file.</summary>
    public string FileName { get; }

    /// <summary>Creates the exception for <paramref name="source"/>; the message is prefixed with it.</summary>
    public CorruptFileException(string source, string problem) : base($"{source}: {problem}") => FileName = source;

    /// <summary>Creates the exception with the underlying cause.</summary>
    public CorruptFileException(string source, string problem, Exception inner) : base($"{source}: {problem}", inner) => FileName = source;
}
