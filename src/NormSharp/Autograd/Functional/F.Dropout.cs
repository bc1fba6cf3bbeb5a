using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Inverted dropout (PyTorch's <c>dropout</c>): while <paramref name="training"/>, zeroes each element with
    /// probability <paramref name="p"/> (drawn from <paramref name="rng"/>) and scales the rest by 1/(1−p); otherwise
    /// the identity. p = 1 multiplies everything by 0 and draws nothing, as PyTorch does.
    /// </summary>
    /// <exception cref="InvalidValueException"><paramref name="p"/> is outside [0, 1].</exception>
    public static Variable Dropout(Variable x, float p, Rng rng, bool training)
    {
        Tape.CheckAlive(x, "Dropout");
        if (!(p >= 0f && p <= 1f))
            throw new InvalidValueException(nameof(p), $"Dropout: p must be in [0, 1], got {p}.");
        if (!training || p == 0f) return x;
        var tape = Tape.Current;
        var mask = tape.Allocate(x.Shape);
        var m = mask.Span;
        if (p == 1f) m.Clear();
        else
        {
            float keep = 1f / (1f - p);
            for (int i = 0; i < m.Length; i++) m[i] = rng.NextFloat() < p ? 0f : keep;
        }
        var y = tape.Allocate(x.Shape);
        ElementwiseKernels.Mul(x.Value.Span, m, y.Span);
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<DropoutNode>();
        node.X = x;
        node.Mask = mask;
        return tape.Record(node, y);
    }

    private sealed class DropoutNode : Node
    {
        public Variable X = null!;
        public Tensor Mask = null!;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } g) return;
            ElementwiseKernels.Mul(Output.Grad!.Span, Mask.Span, g.Buffer.Span);
            g.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
            Mask = null!;
        }
    }
}
