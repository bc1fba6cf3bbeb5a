namespace NormSharp.Errors;

/// <summary>Base type of every error NormSharp raises on purpose; its message names the problem and the values involved.</summary>
public class NormSharpException : Exception
{
    /// <summary>Creates the exception with a message that names the problem.</summary>
    public NormSharpException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public NormSharpException(string message, Exception inner) : base(message, inner) { }
}
