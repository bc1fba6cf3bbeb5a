using NormSharp.Errors;

namespace NormSharp.Distributed;

/// <summary>Thrown when distributed training is asked for but Open MPI cannot be loaded or was not used to start the process; the message says how to install or launch it.</summary>
public sealed class MpiUnavailableException : NormSharpException
{
    /// <summary>Creates the exception with a message that names what is missing.</summary>
    public MpiUnavailableException(string message, Exception? inner = null) : base(message, inner ?? new DllNotFoundException(message)) { }
}
