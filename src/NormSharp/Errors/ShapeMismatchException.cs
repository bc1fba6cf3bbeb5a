namespace NormSharp.Errors;

/// <summary>Thrown when tensor shapes do not fit an operation: the message names the operation and both shapes.</summary>
public sealed class ShapeMismatchException : NormSharpException
{
    /// <summary>Creates the exception with a message that names the operation and the shapes.</summary>
    public ShapeMismatchException(string message) : base(message) { }

    /// <summary>Formats a shape the way messages print it, e.g. <c>[4, 1024]</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
