namespace NormSharp.Autograd;

/// <summary>
/// One recorded operation. A node is filled in by its operation's forward, then asked once for its
/// backward, which reads the output's gradient and writes its inputs' gradients through
/// <see cref="Tape.GradientFor"/>. Nodes are reused from step to step by their tape.
/// </summary>
public abstract class Node
{
    /// <summary>The variable this node produced.</summary>
    internal Variable Output = null!;

    /// <summary>Position of the node among those its tape recorded in the current step; a backward pass runs them in decreasing order.</summary>
    internal int Seq;

    /// <summary>Computes the inputs' gradients from <see cref="Output"/>'s gradient.</summary>
    internal abstract void Backward(Tape tape);

    /// <summary>Drops references to the step's variables so a finished step holds nothing alive.</summary>
    internal virtual void Clear() => Output = null!;
}
