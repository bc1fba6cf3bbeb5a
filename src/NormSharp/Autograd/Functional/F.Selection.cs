using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Elementwise choice (PyTorch's <c>where</c>): <paramref name="a"/> where <paramref name="condition"/> is nonzero
    /// (NaN counts as true, as a bool conversion does), else <paramref name="b"/>; all three broadcast together.
    /// Gradients flow to the chosen operand only. The condition is copied, so changing it afterwards does not
    /// change the backward pass.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Where(Tensor condition, Variable a, Variable b)
    {
        ArgumentNullException.ThrowIfNull(condition);
        Tape.CheckAlive(a, "Where");
        Tape.CheckAlive(b, "Where");
        return WhereCore(condition, a, a.Value, b, b.Value, "Where");
    }

    /// <summary><see cref="Where(Tensor, Variable, Variable)"/> with the constant <paramref name="b"/> where the condition is zero.</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Where(Tensor condition, Variable a, float b)
    {
        ArgumentNullException.ThrowIfNull(condition);
        Tape.CheckAlive(a, "Where");
        return WhereCore(condition, a, a.Value, null, ScalarConstant(b), "Where");
    }

    /// <summary><see cref="Where(Tensor, Variable, Variable)"/> with the constant <paramref name="a"/> where the condition is nonzero.</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Where(Tensor condition, float a, Variable b)
    {
        ArgumentNullException.ThrowIfNull(condition);
        Tape.CheckAlive(b, "Where");
        return WhereCore(condition, null, ScalarConstant(a), b, b.Value, "Where");
    }

    /// <summary>
    /// <paramref name="x"/> with <paramref name="value"/> wherever <paramref name="mask"/> is nonzero (PyTorch's
    /// <c>masked_fill</c>); the mask broadcasts to x's shape, and the result keeps that shape. The gradient flows
    /// where the mask is zero.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The mask does not broadcast to x's shape.</exception>
    public static Variable MaskedFill(Variable x, Tensor mask, float value)
    {
        ArgumentNullException.ThrowIfNull(mask);
        Tape.CheckAlive(x, "MaskedFill");
        var s = x.Shape;
        bool fits = mask.Rank <= s.Length;
        for (int i = 1; fits && i <= mask.Rank; i++) fits = mask.Shape[^i] == 1 || mask.Shape[^i] == s[^i];
        if (!fits)
            throw new ShapeMismatchException($"MaskedFill: the mask {ShapeMismatchException.Format(mask.Shape)} does not broadcast to the input {ShapeMismatchException.Format(s)}.");
        return WhereCore(mask, null, ScalarConstant(value), x, x.Value, "MaskedFill");
    }

    /// <summary>
    /// The choice itself, once the inputs are checked: a and b are the variables (null for a constant) and
    /// their values.
    /// </summary>
    private static Variable WhereCore(Tensor condition, Variable? a, Tensor aValue, Variable? b, Tensor bValue, string op)
    {
        var tape = Tape.Current;
        Span<int> ab = stackalloc int[Math.Max(aValue.Rank, bValue.Rank)];
        BroadcastKernels.BroadcastShape(aValue.Shape, bValue.Shape, ab, op);
        Span<int> shape = stackalloc int[Math.Max(ab.Length, condition.Rank)];
        BroadcastKernels.BroadcastShape(condition.Shape, ab, shape, op);
        var y = tape.Allocate(shape);
        BroadcastKernels.Where(condition.Span, condition.Shape, aValue.Span, aValue.Shape, bValue.Span, bValue.Shape, y.Span, shape);
        bool record = a is not null && Tape.NeedsGrad(a) || b is not null && Tape.NeedsGrad(b);
        if (!record) return tape.Wrap(y);
        var kept = tape.Allocate(condition.Shape);
        condition.Span.CopyTo(kept.Span);
        var node = tape.RentNode<WhereNode>();
        node.Condition = kept;
        node.A = a;
        node.B = b;
        return tape.Record(node, y);
    }

    /// <summary>A constant scalar tensor in the step's memory (no allocation once the step repeats).</summary>
    private static Tensor ScalarConstant(float value)
    {
        var t = Tape.Current.Allocate(ReadOnlySpan<int>.Empty);
        t[0] = value;
        return t;
    }

    private sealed class WhereNode : Node
    {
        public Tensor Condition = null!;
        public Variable? A, B;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!;
            MaskedGradient(tape, A, dy, keepWhereTrue: true);
            MaskedGradient(tape, B, dy, keepWhereTrue: false);
        }

        private void MaskedGradient(Tape tape, Variable? v, Tensor dy, bool keepWhereTrue)
        {
            if (v is null || !v.RequiresGrad) return;
            if (v.Shape.SequenceEqual(dy.Shape))
            {
                var g = tape.GradientFor(v)!.Value;
                BroadcastKernels.Mask(dy.Span, dy.Shape, Condition.Span, Condition.Shape, keepWhereTrue, g.Buffer.Span);
                g.Commit();
                return;
            }
            var t = OutputScratch(tape, this);
            BroadcastKernels.Mask(dy.Span, dy.Shape, Condition.Span, Condition.Shape, keepWhereTrue, t.Span);
            ReduceGradient(tape, v, t.Span, t.Shape);
        }

        internal override void Clear()
        {
            base.Clear();
            Condition = null!;
            A = B = null;
        }
    }
}
