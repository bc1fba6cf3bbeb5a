using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    private enum UnaryKind { Exp, Log, Sqrt, Abs, Pow, Clamp }

    private enum PairwiseKind { Maximum, Minimum, Pow }

    /// <summary>eˣ elementwise (PyTorch's <c>exp</c>).</summary>
    public static Variable Exp(Variable x) => Unary(x, UnaryKind.Exp, 0f, 0f, "Exp");

    /// <summary>Natural logarithm elementwise (PyTorch's <c>log</c>): −∞ at 0, NaN below.</summary>
    public static Variable Log(Variable x) => Unary(x, UnaryKind.Log, 0f, 0f, "Log");

    /// <summary>Square root elementwise (PyTorch's <c>sqrt</c>): NaN below 0; the gradient at 0 is infinite.</summary>
    public static Variable Sqrt(Variable x) => Unary(x, UnaryKind.Sqrt, 0f, 0f, "Sqrt");

    /// <summary>|x| elementwise (PyTorch's <c>abs</c>); the gradient at 0 is 0.</summary>
    public static Variable Abs(Variable x) => Unary(x, UnaryKind.Abs, 0f, 0f, "Abs");

    /// <summary>x raised to the constant <paramref name="exponent"/> elementwise (PyTorch's <c>pow</c> with a number).</summary>
    public static Variable Pow(Variable x, float exponent) => Unary(x, UnaryKind.Pow, exponent, 0f, "Pow");

    /// <summary>
    /// Limits every element to [<paramref name="min"/>, <paramref name="max"/>] (PyTorch's <c>clamp</c>; null leaves
    /// that side open). The gradient passes where min ≤ x ≤ max. When min &gt; max every element becomes max, as in PyTorch.
    /// </summary>
    /// <exception cref="InvalidValueException">Both bounds are null, or a bound is NaN.</exception>
    public static Variable Clamp(Variable x, float? min = null, float? max = null)
    {
        if (min is null && max is null)
            throw new InvalidValueException(nameof(min), "Clamp: at least one of min and max must be given.");
        if (min is float lo && float.IsNaN(lo) || max is float hi && float.IsNaN(hi))
            throw new InvalidValueException(min is float l && float.IsNaN(l) ? nameof(min) : nameof(max), "Clamp: a bound is NaN.");
        return Unary(x, UnaryKind.Clamp, min ?? float.NegativeInfinity, max ?? float.PositiveInfinity, "Clamp");
    }

    /// <summary>
    /// The larger of <paramref name="a"/> and <paramref name="b"/> elementwise, broadcast (PyTorch's <c>maximum</c>):
    /// NaN if either is NaN. On ties the gradient is split equally between the two.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Maximum(Variable a, Variable b) => Pairwise(a, b, PairwiseKind.Maximum, "Maximum");

    /// <summary>The smaller of <paramref name="a"/> and <paramref name="b"/> elementwise, broadcast (PyTorch's <c>minimum</c>), as <see cref="Maximum"/>.</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Minimum(Variable a, Variable b) => Pairwise(a, b, PairwiseKind.Minimum, "Minimum");

    /// <summary>
    /// <paramref name="a"/> raised to <paramref name="b"/> elementwise, broadcast (PyTorch's <c>pow</c> with a tensor
    /// exponent). The exponent's gradient is y·ln a, taken as 0 where a = 0 and b ≥ 0.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Variable Pow(Variable a, Variable b) => Pairwise(a, b, PairwiseKind.Pow, "Pow");

    private static Variable Unary(Variable x, UnaryKind kind, float p, float q, string op)
    {
        Tape.CheckAlive(x, op);
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        var xs = x.Value.Span;
        var ys = y.Span;
        switch (kind)
        {
            case UnaryKind.Exp: MathKernels.ExpForward(xs, ys); break;
            case UnaryKind.Log: MathKernels.LogForward(xs, ys); break;
            case UnaryKind.Sqrt: MathKernels.SqrtForward(xs, ys); break;
            case UnaryKind.Abs: MathKernels.AbsForward(xs, ys); break;
            case UnaryKind.Pow: MathKernels.PowForward(xs, p, ys); break;
            case UnaryKind.Clamp: MathKernels.ClampForward(xs, p, q, ys); break;
        }
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<UnaryNode>();
        node.X = x;
        node.Kind = kind;
        (node.P, node.Q) = (p, q);
        return tape.Record(node, y);
    }

    private static Variable Pairwise(Variable a, Variable b, PairwiseKind kind, string op)
    {
        Tape.CheckAlive(a, op);
        Tape.CheckAlive(b, op);
        var tape = Tape.Current;
        var y = AllocateBroadcast(tape, a, b, op);
        var av = a.Value.Span;
        var bv = b.Value.Span;
        var ys = y.Span;
        switch (kind)
        {
            case PairwiseKind.Maximum: BroadcastKernels.Maximum(av, a.Shape, bv, b.Shape, ys, y.Shape); break;
            case PairwiseKind.Minimum: BroadcastKernels.Minimum(av, a.Shape, bv, b.Shape, ys, y.Shape); break;
            case PairwiseKind.Pow: BroadcastKernels.Pow(av, a.Shape, bv, b.Shape, ys, y.Shape); break;
        }
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<PairwiseNode>();
        node.A = a;
        node.B = b;
        node.Kind = kind;
        return tape.Record(node, y);
    }

    /// <summary>v's value spread to <paramref name="shape"/>: its own storage when it already has that shape, else a scratch copy.</summary>
    private static ReadOnlySpan<float> Spread(Tape tape, Variable v, ReadOnlySpan<int> shape)
    {
        if (v.Shape.SequenceEqual(shape)) return v.Value.Span;
        var t = tape.Allocate(shape);
        BroadcastKernels.BroadcastTo(v.Value.Span, v.Shape, t.Span, shape);
        return t.Span;
    }

    private sealed class UnaryNode : Node
    {
        public Variable X = null!;
        public UnaryKind Kind;
        public float P, Q;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } gx) return;
            var dy = Output.Grad!.Span;
            var x = X.Value.Span;
            var y = Output.Value.Span;
            var dx = gx.Buffer.Span;
            switch (Kind)
            {
                case UnaryKind.Exp: MathKernels.ExpBackward(dy, y, dx); break;
                case UnaryKind.Log: MathKernels.LogBackward(dy, x, dx); break;
                case UnaryKind.Sqrt: MathKernels.SqrtBackward(dy, y, dx); break;
                case UnaryKind.Abs: MathKernels.AbsBackward(dy, x, dx); break;
                case UnaryKind.Pow: MathKernels.PowBackward(dy, x, P, dx); break;
                case UnaryKind.Clamp: MathKernels.ClampBackward(dy, x, P, Q, dx); break;
            }
            gx.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }

    private sealed class PairwiseNode : Node
    {
        public Variable A = null!, B = null!;
        public PairwiseKind Kind;

        internal override void Backward(Tape tape)
        {
            var shape = Output.Value.Shape;
            var a = Spread(tape, A, shape);
            var b = Spread(tape, B, shape);
            var da = A.RequiresGrad ? OutputScratch(tape, this).Span : Span<float>.Empty;
            var db = B.RequiresGrad ? OutputScratch(tape, this).Span : Span<float>.Empty;
            var dy = Output.Grad!.Span;
            if (Kind == PairwiseKind.Pow) MathKernels.PowBackward(dy, a, b, Output.Value.Span, da, db);
            else MathKernels.ExtremumBackward(dy, a, b, da, db, minimum: Kind == PairwiseKind.Minimum);
            if (!da.IsEmpty) ReduceGradient(tape, A, da, shape);
            if (!db.IsEmpty) ReduceGradient(tape, B, db, shape);
        }

        internal override void Clear()
        {
            base.Clear();
            A = B = null!;
        }
    }
}
