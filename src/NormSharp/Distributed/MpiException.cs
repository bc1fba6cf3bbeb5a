using NormSharp.Errors;

namespace NormSharp.Distributed;

/// <summary>Thrown when an MPI call returns an error code; the message names the call and MPI's own description.</summary>
public sealed class MpiException : NormSharpException
{
    /// <summary>Creates the exception for <paramref name="call"/> failing with <paramref name="code"/>.</summary>
    public MpiException(string call, int code, string description) : base($"{call} failed with MPI error {code}: {description}") => Code = code;

    /// <summary>MPI's error code.</summary>
    public int Code { get; }
}
