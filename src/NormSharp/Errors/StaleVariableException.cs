namespace NormSharp.Errors;

/// <summary>
/// Thrown when a variable is used after its value stopped being available: the tape step that computed
/// it has ended and its memory is being reused, or the tensor it was made from was overwritten in place.
/// The message names the step and what to do instead (read the value earlier, or <c>Detach()</c>).
/// </summary>
public sealed class StaleVariableException : NormSharpException
{
    /// <summary>Creates the exception with a message that names the variable, the step and the remedy.</summary>
    public StaleVariableException(string message) : base(message) { }
}
