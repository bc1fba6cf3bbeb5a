using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// The differentiable operations, in the spirit of <c>torch.nn.functional</c>: each one computes its
/// result with a kernel and, while gradients are recorded, leaves a node whose backward is that
/// kernel's backward. Split over files by family.
/// </summary>
public static partial class F
{
    /// <summary>Elementwise sum. <paramref name="b"/> has the shape of <paramref name="a"/>, or the shape of its trailing dimensions (broadcast over the leading ones, as a bias is).</summary>
    public static Variable Add(Variable a, Variable b)
    {
        Tape.CheckAlive(a, "Add");
        Tape.CheckAlive(b, "Add");
        int cols = BroadcastWidth(a, b, "Add");
        var tape = Tape.Current;
        var y = tape.Allocate(a.Shape);
        if (cols == a.Value.Length) ElementwiseKernels.Add(a.Value.Span, b.Value.Span, y.Span);
        else ElementwiseKernels.AddRowBroadcast(a.Value.Span, b.Value.Span, y.Span, a.Value.Length / cols, cols);
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<AddNode>();
        node.A = a;
        node.B = b;
        node.Sign = 1f;
        return tape.Record(node, y);
    }

    /// <summary>Elementwise difference <paramref name="a"/> − <paramref name="b"/> (same shapes, or <paramref name="b"/> broadcast as in <see cref="Add"/>).</summary>
    public static Variable Sub(Variable a, Variable b)
    {
        Tape.CheckAlive(a, "Sub");
        Tape.CheckAlive(b, "Sub");
        int cols = BroadcastWidth(a, b, "Sub");
        var tape = Tape.Current;
        var y = tape.Allocate(a.Shape);
        if (cols == a.Value.Length) ElementwiseKernels.Sub(a.Value.Span, b.Value.Span, y.Span);
        else
        {
            // a − b = a + (−1)·b broadcast: negate into y row by row.
            int rows = a.Value.Length / cols;
            var bs = b.Value.Span;
            var ys = y.Span;
            a.Value.Span.CopyTo(ys);
            for (int r = 0; r < rows; r++) ElementwiseKernels.AddScaled(ys.Slice(r * cols, cols), bs, -1f);
        }
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<AddNode>();
        node.A = a;
        node.B = b;
        node.Sign = -1f;
        return tape.Record(node, y);
    }

    /// <summary>Elementwise product of two tensors of the same shape.</summary>
    public static Variable Mul(Variable a, Variable b)
    {
        Tape.CheckAlive(a, "Mul");
        Tape.CheckAlive(b, "Mul");
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ShapeMismatchException($"Mul: shapes {ShapeMismatchException.Format(a.Shape)} and {ShapeMismatchException.Format(b.Shape)} differ.");
        var tape = Tape.Current;
        var y = tape.Allocate(a.Shape);
        ElementwiseKernels.Mul(a.Value.Span, b.Value.Span, y.Span);
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<MulNode>();
        node.A = a;
        node.B = b;
        return tape.Record(node, y);
    }

    /// <summary>Multiplies every element by the constant <paramref name="scale"/>.</summary>
    public static Variable Scale(Variable a, float scale)
    {
        Tape.CheckAlive(a, "Scale");
        var tape = Tape.Current;
        var y = tape.Allocate(a.Shape);
        ElementwiseKernels.Scale(a.Value.Span, scale, y.Span);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ScaleNode>();
        node.A = a;
        node.Factor = scale;
        return tape.Record(node, y);
    }

    /// <summary>Sum of all elements, as a scalar.</summary>
    public static Variable Sum(Variable a) => Reduce(a, 1f, "Sum");

    /// <summary>Mean of all elements, as a scalar.</summary>
    public static Variable Mean(Variable a) => Reduce(a, a.Value.Length == 0 ? 0f : 1f / a.Value.Length, "Mean");

    private static Variable Reduce(Variable a, float factor, string op)
    {
        Tape.CheckAlive(a, op);
        var tape = Tape.Current;
        var y = tape.Allocate(ReadOnlySpan<int>.Empty);
        double s = 0;
        foreach (float v in a.Value.Span) s += v;
        y[0] = (float)(s * factor);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ReduceNode>();
        node.A = a;
        node.Factor = factor;
        return tape.Record(node, y);
    }

    /// <summary>A view of <paramref name="a"/> with another shape (one dimension may be −1); gradients flow through unchanged.</summary>
    public static Variable Reshape(Variable a, params ReadOnlySpan<int> shape)
    {
        Tape.CheckAlive(a, "Reshape");
        var tape = Tape.Current;
        var y = a.Value.Reshape(shape);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ReshapeNode>();
        node.A = a;
        return tape.Record(node, y);
    }

    private static int BroadcastWidth(Variable a, Variable b, string op)
    {
        var sa = a.Shape;
        var sb = b.Shape;
        if (sb.Length <= sa.Length && sa[(sa.Length - sb.Length)..].SequenceEqual(sb))
            return b.Value.Length == 0 ? 1 : b.Value.Length;
        throw new ShapeMismatchException($"{op}: shape {ShapeMismatchException.Format(sb)} cannot be broadcast to {ShapeMismatchException.Format(sa)} (it must equal it or its trailing dimensions).");
    }

    private sealed class AddNode : Node
    {
        public Variable A = null!, B = null!;
        public float Sign;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!.Span;
            if (tape.GradientFor(A) is { } ga)
            {
                dy.CopyTo(ga.Buffer.Span);
                ga.Commit();
            }
            if (tape.GradientFor(B) is { } gb)
            {
                int cols = B.Value.Length;
                if (cols == dy.Length) ElementwiseKernels.Scale(dy, Sign, gb.Buffer.Span);
                else
                {
                    ElementwiseKernels.SumOverRows(dy, gb.Buffer.Span, dy.Length / cols, cols, accumulate: false);
                    if (Sign != 1f) ElementwiseKernels.Scale(gb.Buffer.Span, Sign, gb.Buffer.Span);
                }
                gb.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            A = B = null!;
        }
    }

    private sealed class MulNode : Node
    {
        public Variable A = null!, B = null!;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!.Span;
            if (tape.GradientFor(A) is { } ga)
            {
                ElementwiseKernels.Mul(dy, B.Value.Span, ga.Buffer.Span);
                ga.Commit();
            }
            if (tape.GradientFor(B) is { } gb)
            {
                ElementwiseKernels.Mul(dy, A.Value.Span, gb.Buffer.Span);
                gb.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            A = B = null!;
        }
    }

    private sealed class ScaleNode : Node
    {
        public Variable A = null!;
        public float Factor;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(A) is { } ga)
            {
                ElementwiseKernels.Scale(Output.Grad!.Span, Factor, ga.Buffer.Span);
                ga.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            A = null!;
        }
    }

    private sealed class ReduceNode : Node
    {
        public Variable A = null!;
        public float Factor;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(A) is { } ga)
            {
                ga.Buffer.Span.Fill(Output.Grad![0] * Factor);
                ga.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            A = null!;
        }
    }

    private sealed class ReshapeNode : Node
    {
        public Variable A = null!;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(A) is { } ga)
            {
                Output.Grad!.Span.CopyTo(ga.Buffer.Span);
                ga.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            A = null!;
        }
    }
}
