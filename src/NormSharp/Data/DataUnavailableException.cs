namespace NormSharp.Data;

/// <summary>Thrown when a dataset is not on this machine; the message says how to get it.</summary>
public sealed class DataUnavailableException(string message) : Errors.NormSharpException(message);
