using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>Entries [<paramref name="start"/>, <paramref name="start"/>+<paramref name="count"/>) of the first dimension: a view, no copy.</summary>
    public static Variable NarrowRows(Variable x, int start, int count)
    {
        Tape.CheckAlive(x, "NarrowRows");
        var tape = Tape.Current;
        var y = x.Value.Narrow(start, count);
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<NarrowRowsNode>();
        node.X = x;
        node.Offset = x.Value.Rank == 0 || x.Value.Dim(0) == 0 ? 0 : start * (x.Value.Length / x.Value.Dim(0));
        return tape.Record(node, y);
    }

    /// <summary>Columns [<paramref name="start"/>, <paramref name="start"/>+<paramref name="count"/>) of a rank-2 variable, as a new [rows, count] tensor.</summary>
    public static Variable SliceColumns(Variable x, int start, int count)
    {
        Tape.CheckAlive(x, "SliceColumns");
        if (x.Value.Rank != 2)
            throw new ShapeMismatchException($"SliceColumns: input must be rank 2, got {ShapeMismatchException.Format(x.Shape)}.");
        int rows = x.Value.Dim(0), cols = x.Value.Dim(1);
        if (start < 0 || count < 0 || start + count > cols)
            throw new ShapeMismatchException($"SliceColumns: columns [{start}, {start + count}) are outside the {cols} columns of {ShapeMismatchException.Format(x.Shape)}.");
        var tape = Tape.Current;
        var y = tape.Allocate(rows, count);
        var xs = x.Value.Span;
        var ys = y.Span;
        for (int r = 0; r < rows; r++) xs.Slice(r * cols + start, count).CopyTo(ys.Slice(r * count, count));
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<SliceColumnsNode>();
        node.X = x;
        node.Start = start;
        return tape.Record(node, y);
    }

    /// <summary>Concatenates variables of equal trailing shape along the first dimension.</summary>
    public static Variable ConcatRows(IReadOnlyList<Variable> parts)
    {
        if (parts.Count == 0) throw new ShapeMismatchException("ConcatRows: nothing to concatenate.");
        var first = parts[0];
        int inner = first.Value.Rank == 0 || first.Value.Dim(0) == 0 ? 1 : first.Value.Length / first.Value.Dim(0);
        int rows = 0;
        bool needsGrad = false;
        foreach (var p in parts)
        {
            Tape.CheckAlive(p, "ConcatRows");
            if (p.Value.Rank != first.Value.Rank || !p.Shape[1..].SequenceEqual(first.Shape[1..]))
                throw new ShapeMismatchException($"ConcatRows: {ShapeMismatchException.Format(p.Shape)} does not match {ShapeMismatchException.Format(first.Shape)} beyond the first dimension.");
            rows += p.Value.Dim(0);
            needsGrad |= Tape.NeedsGrad(p);
        }
        Span<int> shape = stackalloc int[first.Value.Rank];
        first.Shape.CopyTo(shape);
        shape[0] = rows;
        var tape = Tape.Current;
        var y = tape.Allocate(shape);
        int offset = 0;
        foreach (var p in parts)
        {
            p.Value.Span.CopyTo(y.Span.Slice(offset));
            offset += p.Value.Length;
        }
        if (!needsGrad) return tape.Wrap(y);
        var node = tape.RentNode<ConcatRowsNode>();
        node.Parts.Clear();
        node.Parts.AddRange(parts);
        return tape.Record(node, y);
    }

    /// <summary>Swaps the first two dimensions ([A, B, ...] → [B, A, ...]), e.g. batch-first to time-first; a copy.</summary>
    public static Variable SwapFirstTwoDims(Variable x)
    {
        Tape.CheckAlive(x, "SwapFirstTwoDims");
        if (x.Value.Rank < 2) throw new ShapeMismatchException($"SwapFirstTwoDims: input must have at least two dimensions, got {ShapeMismatchException.Format(x.Shape)}.");
        int a = x.Value.Dim(0), b = x.Value.Dim(1);
        int inner = a * b == 0 ? 0 : x.Value.Length / (a * b);
        Span<int> shape = stackalloc int[x.Value.Rank];
        x.Shape.CopyTo(shape);
        (shape[0], shape[1]) = (b, a);
        var tape = Tape.Current;
        var y = tape.Allocate(shape);
        Swap(x.Value.Span, y.Span, a, b, inner);
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<SwapNode>();
        node.X = x;
        (node.A, node.B, node.Inner) = (a, b, inner);
        return tape.Record(node, y);
    }

    private static void Swap(ReadOnlySpan<float> src, Span<float> dst, int a, int b, int inner)
    {
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                src.Slice((i * b + j) * inner, inner).CopyTo(dst.Slice((j * a + i) * inner, inner));
    }

    /// <summary>The gradient buffer of <paramref name="x"/> ready for a partial write: zero-filled when it is new.</summary>
    private static Tensor? PartialGradient(Tape tape, Variable x)
    {
        var g = tape.GradientForAccumulatingKernel(x, out bool accumulate);
        if (g is not null && !accumulate) g.Span.Clear();
        return g;
    }

    private sealed class NarrowRowsNode : Node
    {
        public Variable X = null!;
        public int Offset;

        internal override void Backward(Tape tape)
        {
            if (PartialGradient(tape, X) is not { } g) return;
            var dy = Output.Grad!.Span;
            ElementwiseKernels.AddInPlace(g.Span.Slice(Offset, dy.Length), dy);
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }

    private sealed class SliceColumnsNode : Node
    {
        public Variable X = null!;
        public int Start;

        internal override void Backward(Tape tape)
        {
            if (PartialGradient(tape, X) is not { } g) return;
            int rows = X.Value.Dim(0), cols = X.Value.Dim(1), count = Output.Value.Dim(1);
            var dy = Output.Grad!.Span;
            var gs = g.Span;
            for (int r = 0; r < rows; r++) ElementwiseKernels.AddInPlace(gs.Slice(r * cols + Start, count), dy.Slice(r * count, count));
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }

    private sealed class ConcatRowsNode : Node
    {
        public readonly List<Variable> Parts = new();

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!.Span;
            int offset = 0;
            foreach (var p in Parts)
            {
                int n = p.Value.Length;
                if (tape.GradientFor(p) is { } g)
                {
                    dy.Slice(offset, n).CopyTo(g.Buffer.Span);
                    g.Commit();
                }
                offset += n;
            }
        }

        internal override void Clear()
        {
            base.Clear();
            Parts.Clear();
        }
    }

    private sealed class SwapNode : Node
    {
        public Variable X = null!;
        public int A, B, Inner;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } g) return;
            Swap(Output.Grad!.Span, g.Buffer.Span, B, A, Inner);
            g.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }
}
