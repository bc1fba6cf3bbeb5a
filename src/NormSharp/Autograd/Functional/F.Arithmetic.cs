using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// The differentiable operations, in the spirit of <c>torch.nn.functional</c>: each one computes its
/// result with a kernel and, while gradients are recorded, leaves a node whose backward is that
/// kernel's backward. Split over files by family.
/// </summary>
/// <remarks>
/// Binary elementwise operations broadcast as NumPy and PyTorch do: shapes are aligned at their trailing
/// dimensions, and a dimension of size 1 (or a missing leading one) stretches to match the other operand.
/// The gradient of a stretched operand is summed back over the stretched dimensions to its own shape.
/// </remarks>
public static partial class F
{
    /// <summary>Elementwise sum <paramref name="a"/> + <paramref name="b"/>, broadcast (PyTorch's <c>add</c>).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Add(Variable a, Variable b) => AddOrSub(a, b, 1f, "Add");

    /// <summary>Elementwise difference <paramref name="a"/> − <paramref name="b"/>, broadcast (PyTorch's <c>sub</c>).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Sub(Variable a, Variable b) => AddOrSub(a, b, -1f, "Sub");

    /// <summary>Elementwise product <paramref name="a"/> ⊙ <paramref name="b"/>, broadcast (PyTorch's <c>mul</c>).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Mul(Variable a, Variable b)
    {
        Tape.CheckAlive(a, "Mul");
        Tape.CheckAlive(b, "Mul");
        var tape = Tape.Current;
        Tensor y;
        if (a.Shape.SequenceEqual(b.Shape))
        {
            y = tape.Allocate(a.Shape);
            ElementwiseKernels.Mul(a.Value.Span, b.Value.Span, y.Span);
        }
        else
        {
            y = AllocateBroadcast(tape, a, b, "Mul");
            BroadcastKernels.Mul(a.Value.Span, a.Shape, b.Value.Span, b.Shape, y.Span, y.Shape);
        }
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<MulNode>();
        node.A = a;
        node.B = b;
        return tape.Record(node, y);
    }

    /// <summary>Elementwise quotient <paramref name="a"/> / <paramref name="b"/>, broadcast (PyTorch's <c>div</c>, true division).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Div(Variable a, Variable b)
    {
        Tape.CheckAlive(a, "Div");
        Tape.CheckAlive(b, "Div");
        var tape = Tape.Current;
        var y = AllocateBroadcast(tape, a, b, "Div");
        BroadcastKernels.Div(a.Value.Span, a.Shape, b.Value.Span, b.Shape, y.Span, y.Shape);
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<DivNode>();
        node.A = a;
        node.B = b;
        return tape.Record(node, y);
    }

    /// <summary><paramref name="a"/> + <paramref name="b"/> for a constant <paramref name="b"/>.</summary>
    public static Variable Add(Variable a, float b) => Affine(a, 1f, b, "Add");

    /// <summary><paramref name="a"/> − <paramref name="b"/> for a constant <paramref name="b"/>.</summary>
    public static Variable Sub(Variable a, float b) => Affine(a, 1f, -b, "Sub");

    /// <summary><paramref name="a"/> − <paramref name="b"/> for a constant <paramref name="a"/> (PyTorch's <c>rsub</c>).</summary>
    public static Variable Sub(float a, Variable b) => Affine(b, -1f, a, "Sub");

    /// <summary><paramref name="a"/> · <paramref name="b"/> for a constant <paramref name="b"/>.</summary>
    public static Variable Mul(Variable a, float b) => Affine(a, b, 0f, "Mul");

    /// <summary><paramref name="a"/> / <paramref name="b"/> for a constant <paramref name="b"/> (a true division, as PyTorch's, not a multiplication by 1/b).</summary>
    public static Variable Div(Variable a, float b)
    {
        Tape.CheckAlive(a, "Div");
        var tape = Tape.Current;
        var y = tape.Allocate(a.Shape);
        System.Numerics.Tensors.TensorPrimitives.Divide(a.Value.Span, b, y.Span);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<DivByConstantNode>();
        node.A = a;
        node.Divisor = b;
        return tape.Record(node, y);
    }

    /// <summary><paramref name="a"/> / <paramref name="b"/> for a constant numerator (PyTorch's <c>reciprocal</c> scaled).</summary>
    public static Variable Div(float a, Variable b)
    {
        Tape.CheckAlive(b, "Div");
        var tape = Tape.Current;
        var y = tape.Allocate(b.Shape);
        System.Numerics.Tensors.TensorPrimitives.Divide(a, b.Value.Span, y.Span);
        if (!Tape.NeedsGrad(b)) return tape.Wrap(y);
        var node = tape.RentNode<ConstantOverNode>();
        node.B = b;
        return tape.Record(node, y);
    }

    /// <summary>−<paramref name="a"/> (PyTorch's <c>neg</c>).</summary>
    public static Variable Neg(Variable a) => Affine(a, -1f, 0f, "Neg");

    /// <summary>Multiplies every element by the constant <paramref name="scale"/>.</summary>
    public static Variable Scale(Variable a, float scale) => Affine(a, scale, 0f, "Scale");

    /// <summary>y = scale·a + shift with constants, one node for every scalar-operand form of + − ·.</summary>
    private static Variable Affine(Variable a, float scale, float shift, string op)
    {
        Tape.CheckAlive(a, op);
        var tape = Tape.Current;
        var y = tape.Allocate(a.Shape);
        MathKernels.Affine(a.Value.Span, scale, shift, y.Span);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ScaleNode>();
        node.A = a;
        node.Factor = scale;
        return tape.Record(node, y);
    }

    private static Variable AddOrSub(Variable a, Variable b, float sign, string op)
    {
        Tape.CheckAlive(a, op);
        Tape.CheckAlive(b, op);
        var tape = Tape.Current;
        Tensor y;
        int cols = TrailingWidth(b.Shape, a.Shape);
        if (cols == a.Value.Length)
        {
            y = tape.Allocate(a.Shape);
            if (sign > 0) ElementwiseKernels.Add(a.Value.Span, b.Value.Span, y.Span);
            else ElementwiseKernels.Sub(a.Value.Span, b.Value.Span, y.Span);
        }
        else if (cols > 0 && sign > 0)
        {
            // The bias shape: b is a's trailing dimensions, repeated over its leading ones.
            y = tape.Allocate(a.Shape);
            ElementwiseKernels.AddRowBroadcast(a.Value.Span, b.Value.Span, y.Span, a.Value.Length / cols, cols);
        }
        else
        {
            y = AllocateBroadcast(tape, a, b, op);
            if (sign > 0) BroadcastKernels.Add(a.Value.Span, a.Shape, b.Value.Span, b.Shape, y.Span, y.Shape);
            else BroadcastKernels.Sub(a.Value.Span, a.Shape, b.Value.Span, b.Shape, y.Span, y.Shape);
        }
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<AddNode>();
        node.A = a;
        node.B = b;
        node.Sign = sign;
        return tape.Record(node, y);
    }

    /// <summary>
    /// The element count of <paramref name="small"/> when it equals <paramref name="large"/> or its trailing
    /// dimensions (the case of a bias, served by a row-broadcast kernel); −1 otherwise; an empty
    /// <paramref name="small"/> counts as width 1 so that it never takes the row path.
    /// </summary>
    private static int TrailingWidth(ReadOnlySpan<int> small, ReadOnlySpan<int> large)
    {
        if (small.Length > large.Length || !large[(large.Length - small.Length)..].SequenceEqual(small)) return -1;
        long n = Tensor.CheckedLength(small);
        return n == 0 ? (small.SequenceEqual(large) ? 0 : -1) : (int)n;
    }

    /// <summary>A tensor of the shape <paramref name="a"/> and <paramref name="b"/> broadcast to.</summary>
    private static Tensor AllocateBroadcast(Tape tape, Variable a, Variable b, string op)
    {
        Span<int> shape = stackalloc int[Math.Max(a.Value.Rank, b.Value.Rank)];
        BroadcastKernels.BroadcastShape(a.Shape, b.Shape, shape, op);
        return tape.Allocate(shape);
    }

    /// <summary>
    /// Writes <paramref name="full"/> (shaped like the output) into v's gradient, summed over the dimensions where v
    /// was stretched; <paramref name="sign"/> scales it. Nothing happens when v needs no gradient.
    /// </summary>
    private static void ReduceGradient(Tape tape, Variable v, ReadOnlySpan<float> full, ReadOnlySpan<int> fullShape, float sign = 1f)
    {
        if (tape.GradientFor(v) is not { } g) return;
        var dst = g.Buffer.Span;
        if (v.Shape.SequenceEqual(fullShape))
        {
            if (sign == 1f) full.CopyTo(dst);
            else ElementwiseKernels.Scale(full, sign, dst);
        }
        else
        {
            int cols = TrailingWidth(v.Shape, fullShape);
            if (cols > 0) ElementwiseKernels.SumOverRows(full, dst, full.Length / cols, cols, accumulate: false);
            else BroadcastKernels.SumTo(full, fullShape, dst, v.Shape);
            if (sign != 1f) ElementwiseKernels.Scale(dst, sign, dst);
        }
        g.Commit();
    }

    /// <summary>Scratch of the output's shape, for a gradient that is summed down to its input's shape afterwards.</summary>
    private static Tensor OutputScratch(Tape tape, Node node) => tape.Allocate(node.Output.Value.Shape);

    private sealed class AddNode : Node
    {
        public Variable A = null!, B = null!;
        public float Sign;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!.Span;
            var shape = Output.Value.Shape;
            ReduceGradient(tape, A, dy, shape);
            ReduceGradient(tape, B, dy, shape, Sign);
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
            var dy = Output.Grad!;
            GradientOfProduct(tape, A, B, dy);
            GradientOfProduct(tape, B, A, dy);
        }

        /// <summary>d(x·other)/dx = dy ⊙ other, reduced to x's shape.</summary>
        private void GradientOfProduct(Tape tape, Variable x, Variable other, Tensor dy)
        {
            if (!x.RequiresGrad) return;
            if (x.Shape.SequenceEqual(dy.Shape))
            {
                var g = tape.GradientFor(x)!.Value;
                if (other.Shape.SequenceEqual(dy.Shape)) ElementwiseKernels.Mul(dy.Span, other.Value.Span, g.Buffer.Span);
                else BroadcastKernels.Mul(dy.Span, dy.Shape, other.Value.Span, other.Shape, g.Buffer.Span, dy.Shape);
                g.Commit();
                return;
            }
            var t = OutputScratch(tape, this);
            BroadcastKernels.Mul(dy.Span, dy.Shape, other.Value.Span, other.Shape, t.Span, t.Shape);
            ReduceGradient(tape, x, t.Span, t.Shape);
        }

        internal override void Clear()
        {
            base.Clear();
            A = B = null!;
        }
    }

    private sealed class DivNode : Node
    {
        public Variable A = null!, B = null!;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!;
            // t = dy / b is a's gradient before reduction; b's is −t ⊙ y (= −dy·a/b²).
            var t = OutputScratch(tape, this);
            BroadcastKernels.Div(dy.Span, dy.Shape, B.Value.Span, B.Shape, t.Span, t.Shape);
            ReduceGradient(tape, A, t.Span, t.Shape);
            if (!B.RequiresGrad) return;
            ElementwiseKernels.Mul(t.Span, Output.Value.Span, t.Span);
            ReduceGradient(tape, B, t.Span, t.Shape, -1f);
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

    private sealed class DivByConstantNode : Node
    {
        public Variable A = null!;
        public float Divisor;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(A) is not { } ga) return;
            System.Numerics.Tensors.TensorPrimitives.Divide(Output.Grad!.Span, Divisor, ga.Buffer.Span);
            ga.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            A = null!;
        }
    }

    private sealed class ConstantOverNode : Node
    {
        public Variable B = null!;

        internal override void Backward(Tape tape)
        {
            // y = c / b: dy/db = −c/b² = −y/b.
            if (tape.GradientFor(B) is not { } gb) return;
            var dst = gb.Buffer.Span;
            ElementwiseKernels.Mul(Output.Grad!.Span, Output.Value.Span, dst);
            System.Numerics.Tensors.TensorPrimitives.Divide(dst, B.Value.Span, dst);
            System.Numerics.Tensors.TensorPrimitives.Negate(dst, dst);
            gb.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            B = null!;
        }
    }
}
