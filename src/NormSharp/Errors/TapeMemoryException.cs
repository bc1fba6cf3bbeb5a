namespace NormSharp.Errors;

/// <summary>
/// Thrown when graphs recorded without a backward pass, and still referenced, hold more memory than the
/// tape's limit (<c>Tape.MemoryLimitBytes</c>): typically evaluation outside <c>GradMode.NoGrad()</c>
/// that keeps its results.
/// </summary>
public sealed class TapeMemoryException : NormSharpException
{
    /// <summary>Creates the exception with a message that gives the memory held and the remedy.</summary>
    public TapeMemoryException(string message) : base(message) { }
}
