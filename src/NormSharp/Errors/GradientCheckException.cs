using NormSharp.Autograd;

namespace NormSharp.Errors;

/// <summary>Thrown by <see cref="GradCheck.Check"/> when an operation's backward pass disagrees with finite differences.</summary>
public sealed class GradientCheckException : NormSharpException
{
    /// <summary>Creates the exception for the worst disagreement found.</summary>
    public GradientCheckException(string message, GradCheck.Worst worst) : base(message) => Worst = worst;

    /// <summary>The worst element: which input, where, and both values.</summary>
    public GradCheck.Worst Worst { get; }
}
