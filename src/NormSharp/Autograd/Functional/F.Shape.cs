using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

// Shape operations. Tensors are dense and row-major, so the operations that only regroup dimensions
// (Reshape, View, Flatten, Squeeze, Unsqueeze) are views sharing the input's memory, while those that
// reorder elements (Transpose, Permute, Expand) copy into a new tensor where PyTorch returns a strided
// view: the values are the same, only writing into a result never writes into the input here.
public static partial class F
{
    /// <summary>A view of <paramref name="a"/> with another shape (one dimension may be −1, inferred); gradients flow through unchanged (PyTorch's <c>reshape</c>).</summary>
    /// <exception cref="ShapeMismatchException">The shape holds a different number of elements.</exception>
    public static Variable Reshape(Variable a, params ReadOnlySpan<int> shape)
    {
        Tape.CheckAlive(a, "Reshape");
        if (!Tape.NeedsGrad(a)) return Tape.Current.Wrap(a.Value.Reshape(shape));
        var node = Tape.Current.RentNode<ReshapeNode>();
        // A training step reshapes the same storage the same way every time: reuse the view object.
        var view = IsViewOf(node.View, a.Value, a.Value.Offset, a.Value.Length, shape) ? node.View! : a.Value.Reshape(shape);
        node.View = view;
        node.A = a;
        return Tape.Current.Record(node, view);
    }

    /// <summary>The same as <see cref="Reshape"/>: every tensor here is contiguous, so every reshape is a view (PyTorch's <c>view</c>).</summary>
    /// <exception cref="ShapeMismatchException">The shape holds a different number of elements.</exception>
    public static Variable View(Variable a, params ReadOnlySpan<int> shape) => Reshape(a, shape);

    /// <summary>Merges dimensions <paramref name="startDim"/> to <paramref name="endDim"/> (inclusive) into one, as a view (PyTorch's <c>flatten</c>; a scalar becomes [1]).</summary>
    /// <exception cref="ShapeMismatchException">A dimension is out of range, or the start comes after the end.</exception>
    public static Variable Flatten(Variable a, int startDim = 0, int endDim = -1)
    {
        Tape.CheckAlive(a, "Flatten");
        var s = a.Shape;
        if (s.Length == 0) return Reshape(a, [1]);
        int start = NormalizeDim(s, startDim, "Flatten"), end = NormalizeDim(s, endDim, "Flatten");
        if (start > end)
            throw new ShapeMismatchException($"Flatten: start dimension {startDim} comes after end dimension {endDim} of {ShapeMismatchException.Format(s)}.");
        Span<int> shape = stackalloc int[s.Length - (end - start)];
        int r = 0;
        for (int i = 0; i < start; i++) shape[r++] = s[i];
        int merged = 1;
        for (int i = start; i <= end; i++) merged *= s[i];
        shape[r++] = merged;
        for (int i = end + 1; i < s.Length; i++) shape[r++] = s[i];
        return Reshape(a, shape);
    }

    /// <summary>Removes every dimension of size 1, as a view (PyTorch's <c>squeeze()</c>).</summary>
    public static Variable Squeeze(Variable a)
    {
        Tape.CheckAlive(a, "Squeeze");
        var s = a.Shape;
        Span<int> shape = stackalloc int[s.Length];
        int r = 0;
        foreach (int d in s) if (d != 1) shape[r++] = d;
        return Reshape(a, shape[..r]);
    }

    /// <summary>Removes dimension <paramref name="dim"/> if its size is 1 (otherwise returns the input unchanged, as PyTorch's <c>squeeze(dim)</c>), as a view.</summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range.</exception>
    public static Variable Squeeze(Variable a, int dim)
    {
        Tape.CheckAlive(a, "Squeeze");
        var s = a.Shape;
        if (s.Length == 0 && (dim == 0 || dim == -1)) return a;
        int d = NormalizeDim(s, dim, "Squeeze");
        if (s[d] != 1) return a;
        Span<int> shape = stackalloc int[s.Length - 1];
        for (int i = 0, r = 0; i < s.Length; i++) if (i != d) shape[r++] = s[i];
        return Reshape(a, shape);
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/> (−1 appends; PyTorch's <c>unsqueeze</c>), as a view.</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="dim"/> is outside [−rank−1, rank].</exception>
    public static Variable Unsqueeze(Variable a, int dim)
    {
        Tape.CheckAlive(a, "Unsqueeze");
        var s = a.Shape;
        int d = dim < 0 ? dim + s.Length + 1 : dim;
        if ((uint)d > (uint)s.Length)
            throw new ShapeMismatchException($"Unsqueeze: dimension {dim} is out of range for {ShapeMismatchException.Format(s)} (expected {-s.Length - 1} to {s.Length}).");
        Span<int> shape = stackalloc int[s.Length + 1];
        for (int i = 0, r = 0; i <= s.Length; i++)
        {
            if (i == d) shape[r++] = 1;
            if (i < s.Length) shape[r++] = s[i];
        }
        return Reshape(a, shape);
    }

    /// <summary>
    /// Swaps dimensions <paramref name="dim0"/> and <paramref name="dim1"/> (PyTorch's <c>transpose</c>). A copy;
    /// swapping the last two dimensions runs a cache-blocked kernel.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A dimension is out of range.</exception>
    public static Variable Transpose(Variable a, int dim0, int dim1)
    {
        Tape.CheckAlive(a, "Transpose");
        int rank = a.Value.Rank;
        int d0 = NormalizeDim(a.Shape, dim0, "Transpose"), d1 = NormalizeDim(a.Shape, dim1, "Transpose");
        Span<int> perm = stackalloc int[rank];
        for (int i = 0; i < rank; i++) perm[i] = i;
        (perm[d0], perm[d1]) = (perm[d1], perm[d0]);
        return PermuteCore(a, perm, "Transpose");
    }

    /// <summary>
    /// Reorders the dimensions: dimension i of the result is dimension <paramref name="dims"/>[i] of the input
    /// (negative entries count from the end; PyTorch's <c>permute</c>). A copy.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="dims"/> is not a permutation of the input's dimensions.</exception>
    public static Variable Permute(Variable a, params ReadOnlySpan<int> dims)
    {
        Tape.CheckAlive(a, "Permute");
        int rank = a.Value.Rank;
        if (dims.Length != rank)
            throw new ShapeMismatchException($"Permute: {ShapeMismatchException.Format(dims)} names {dims.Length} dimensions, but the input {ShapeMismatchException.Format(a.Shape)} has {rank}.");
        Span<int> perm = stackalloc int[rank];
        Span<bool> seen = stackalloc bool[rank];
        for (int i = 0; i < rank; i++)
        {
            int d = NormalizeDim(a.Shape, dims[i], "Permute");
            if (seen[d])
                throw new ShapeMismatchException($"Permute: {ShapeMismatchException.Format(dims)} repeats dimension {dims[i]}, so it is not a permutation of the dimensions of {ShapeMismatchException.Format(a.Shape)}.");
            seen[d] = true;
            perm[i] = d;
        }
        return PermuteCore(a, perm, "Permute");
    }

    /// <summary>
    /// Repeats <paramref name="a"/> along its dimensions of size 1 (and new leading ones) to <paramref name="shape"/>;
    /// −1 keeps a dimension's size (PyTorch's <c>expand</c>). A copy here, so the result may be written freely;
    /// the gradient is summed back over the repeated dimensions.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input does not broadcast to the shape.</exception>
    public static Variable Expand(Variable a, params ReadOnlySpan<int> shape)
    {
        Tape.CheckAlive(a, "Expand");
        var s = a.Shape;
        if (shape.Length < s.Length)
            throw new ShapeMismatchException($"Expand: the target {ShapeMismatchException.Format(shape)} has fewer dimensions than the input {ShapeMismatchException.Format(s)}.");
        Span<int> target = stackalloc int[shape.Length];
        int lead = shape.Length - s.Length;
        for (int i = 0; i < shape.Length; i++)
        {
            int want = shape[i];
            int have = i >= lead ? s[i - lead] : 1;
            if (want == -1)
            {
                if (i < lead)
                    throw new ShapeMismatchException($"Expand: −1 is not allowed for the new leading dimension {i} of {ShapeMismatchException.Format(shape)}.");
                want = have;
            }
            if (want < 0 || have != 1 && have != want)
                throw new ShapeMismatchException($"Expand: the input {ShapeMismatchException.Format(s)} cannot be expanded to {ShapeMismatchException.Format(shape)} (dimension {i}: {have} to {shape[i]}; only size-1 dimensions stretch).");
            target[i] = want;
        }
        var tape = Tape.Current;
        var y = tape.Allocate(target);
        BroadcastKernels.BroadcastTo(a.Value.Span, s, y.Span, target);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ExpandNode>();
        node.A = a;
        return tape.Record(node, y);
    }

    /// <summary>The same as <see cref="Expand"/> (PyTorch's <c>broadcast_to</c>).</summary>
    /// <exception cref="ShapeMismatchException">The input does not broadcast to the shape.</exception>
    public static Variable BroadcastTo(Variable a, params ReadOnlySpan<int> shape) => Expand(a, shape);

    /// <summary>A dimension index in [0, rank) from one that may count from the end; the message names <paramref name="op"/> and the shape.</summary>
    internal static int NormalizeDim(ReadOnlySpan<int> shape, int dim, string op)
    {
        int rank = shape.Length;
        int d = dim < 0 ? dim + rank : dim;
        if ((uint)d >= (uint)rank)
            throw new ShapeMismatchException(rank == 0
                ? $"{op}: a scalar (shape []) has no dimension {dim}."
                : $"{op}: dimension {dim} is out of range for {ShapeMismatchException.Format(shape)} (expected {-rank} to {rank - 1}).");
        return d;
    }

    /// <summary>
    /// True when <paramref name="cached"/> is a view of <paramref name="source"/>'s elements from <paramref name="offset"/>
    /// with <paramref name="shape"/> (−1 entries match any size): a step that repeats itself reuses its view objects.
    /// </summary>
    internal static bool IsViewOf(Tensor? cached, Tensor source, int offset, long length, ReadOnlySpan<int> shape)
    {
        if (cached is null || !ReferenceEquals(cached.Storage, source.Storage) || cached.Offset != offset
            || cached.Length != length || cached.Rank != shape.Length) return false;
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] != -1 && shape[i] != cached.Shape[i]) return false;
        return true;
    }

    private static Variable PermuteCore(Variable a, ReadOnlySpan<int> perm, string op)
    {
        var s = a.Shape;
        Span<int> shape = stackalloc int[perm.Length];
        for (int i = 0; i < perm.Length; i++) shape[i] = s[perm[i]];
        var tape = Tape.Current;
        var y = tape.Allocate(shape);
        ShapeKernels.Permute(a.Value.Span, s, perm, y.Span);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<PermuteNode>();
        node.A = a;
        node.Inverse = node.Inverse.Length == perm.Length ? node.Inverse : new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) node.Inverse[perm[i]] = i;
        return tape.Record(node, y);
    }

    private sealed class ReshapeNode : Node
    {
        public Variable A = null!;

        /// <summary>The last view made, kept across steps (it holds only storage the next step reuses).</summary>
        public Tensor? View;

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

    private sealed class PermuteNode : Node
    {
        public Variable A = null!;
        public int[] Inverse = [];

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(A) is not { } ga) return;
            ShapeKernels.Permute(Output.Grad!.Span, Output.Value.Shape, Inverse, ga.Buffer.Span);
            ga.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            A = null!;
        }
    }

    private sealed class ExpandNode : Node
    {
        public Variable A = null!;

        internal override void Backward(Tape tape) => ReduceGradient(tape, A, Output.Grad!.Span, Output.Value.Shape);

        internal override void Clear()
        {
            base.Clear();
            A = null!;
        }
    }
}
