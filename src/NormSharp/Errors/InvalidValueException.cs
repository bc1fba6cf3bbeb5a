namespace NormSharp.Errors;

/// <summary>Thrown when a hyperparameter or option has a value outside its valid range (a non-positive eps, a zero hidden size).</summary>
public sealed class InvalidValueException : NormSharpException
{
    /// <summary>Name of the offending parameter or option.</summary>
    public string ParameterName { get; }

    /// <summary>Creates the exception for <paramref name="parameterName"/> with a message that says what was expected.</summary>
    public InvalidValueException(string parameterName, string message) : base(message) => ParameterName = parameterName;
}
