using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Concatenates <paramref name="tensors"/> along dimension <paramref name="dim"/> (PyTorch's <c>cat</c>): all have
    /// the same shape except in that dimension. As in PyTorch, a one-dimensional empty tensor (shape [0]) is
    /// skipped whatever the others' shape. A copy.
    /// </summary>
    /// <exception cref="ShapeMismatchException">No tensors, a dimension out of range, or shapes that differ outside <paramref name="dim"/>.</exception>
    public static Variable Cat(ReadOnlySpan<Variable> tensors, int dim = 0)
    {
        Variable? first = null;
        foreach (var t in tensors)
        {
            Tape.CheckAlive(t, "Cat");
            if (first is null && !IsLegacyEmpty(t)) first = t;
        }
        if (tensors.IsEmpty) throw new ShapeMismatchException("Cat: no tensors to concatenate.");
        first ??= tensors[0];
        var s = first.Shape;
        int d = NormalizeDim(s, dim, "Cat");
        long total = 0;
        bool needsGrad = false;
        foreach (var t in tensors)
        {
            if (IsLegacyEmpty(t) && !ReferenceEquals(t, first) && s.Length != 1) continue;
            var ts = t.Shape;
            bool fits = ts.Length == s.Length;
            for (int i = 0; fits && i < s.Length; i++) fits = i == d || ts[i] == s[i];
            if (!fits)
                throw new ShapeMismatchException($"Cat: {ShapeMismatchException.Format(ts)} does not match {ShapeMismatchException.Format(s)} outside dimension {dim}.");
            total += ts[d];
            needsGrad |= Tape.NeedsGrad(t);
        }
        Span<int> shape = stackalloc int[s.Length];
        s.CopyTo(shape);
        shape[d] = (int)Math.Min(total, int.MaxValue);
        Tensor.CheckedLength(shape);
        var (outer, _, inner) = SplitAt(shape, d);
        return Join(tensors, shape, outer, inner, d, stack: false, needsGrad, s.Length);
    }

    /// <summary>Concatenates <paramref name="tensors"/> along <paramref name="dim"/>; see <see cref="Cat(ReadOnlySpan{Variable}, int)"/>.</summary>
    /// <exception cref="ShapeMismatchException">No tensors, a dimension out of range, or shapes that differ outside <paramref name="dim"/>.</exception>
    public static Variable Cat(IReadOnlyList<Variable> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return Cat((tensors as Variable[] ?? tensors.ToArray()).AsSpan(), dim);
    }

    /// <summary>
    /// Stacks tensors of one shape along a new dimension inserted at <paramref name="dim"/> (PyTorch's <c>stack</c>;
    /// −1 appends it). A copy.
    /// </summary>
    /// <exception cref="ShapeMismatchException">No tensors, shapes that differ, or <paramref name="dim"/> outside [−rank−1, rank].</exception>
    public static Variable Stack(ReadOnlySpan<Variable> tensors, int dim = 0)
    {
        if (tensors.IsEmpty) throw new ShapeMismatchException("Stack: no tensors to stack.");
        var s = tensors[0].Shape;
        bool needsGrad = false;
        foreach (var t in tensors)
        {
            Tape.CheckAlive(t, "Stack");
            if (!t.Shape.SequenceEqual(s))
                throw new ShapeMismatchException($"Stack: every tensor must have the same shape; {ShapeMismatchException.Format(t.Shape)} differs from {ShapeMismatchException.Format(s)}.");
            needsGrad |= Tape.NeedsGrad(t);
        }
        int d = dim < 0 ? dim + s.Length + 1 : dim;
        if ((uint)d > (uint)s.Length)
            throw new ShapeMismatchException($"Stack: dimension {dim} is out of range for stacking tensors of shape {ShapeMismatchException.Format(s)} (expected {-s.Length - 1} to {s.Length}).");
        Span<int> shape = stackalloc int[s.Length + 1];
        for (int i = 0, r = 0; i <= s.Length; i++)
        {
            if (i == d) shape[r++] = tensors.Length;
            if (i < s.Length) shape[r++] = s[i];
        }
        Tensor.CheckedLength(shape);
        var (outer, _, inner) = SplitAt(shape, d);
        return Join(tensors, shape, outer, inner, d, stack: true, needsGrad, s.Length);
    }

    /// <summary>Stacks <paramref name="tensors"/> along a new dimension; see <see cref="Stack(ReadOnlySpan{Variable}, int)"/>.</summary>
    /// <exception cref="ShapeMismatchException">No tensors, shapes that differ, or <paramref name="dim"/> out of range.</exception>
    public static Variable Stack(IReadOnlyList<Variable> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return Stack((tensors as Variable[] ?? tensors.ToArray()).AsSpan(), dim);
    }

    /// <summary>
    /// Entries [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) of dimension
    /// <paramref name="dim"/> (PyTorch's <c>narrow</c>; a negative start counts from the end). A view sharing the
    /// input's memory when the slice is contiguous (dimension 0, or only size-1 dimensions before it), otherwise a copy.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range or the slice does not fit inside it.</exception>
    public static Variable Narrow(Variable x, int dim, int start, int length)
    {
        Tape.CheckAlive(x, "Narrow");
        var s = x.Shape;
        int d = NormalizeDim(s, dim, "Narrow");
        int size = s[d];
        int from = start < 0 ? start + size : start;
        if (from < 0 || length < 0 || (long)from + length > size)
            throw new ShapeMismatchException($"Narrow: entries [{start}, {(long)start + length}) are outside dimension {dim} (size {size}) of {ShapeMismatchException.Format(s)}.");
        var (outer, _, inner) = SplitAt(s, d);
        Span<int> shape = stackalloc int[s.Length];
        s.CopyTo(shape);
        shape[d] = length;
        var tape = Tape.Current;
        bool record = Tape.NeedsGrad(x);
        var node = record ? tape.RentNode<NarrowNode>() : null;
        Tensor y;
        if (outer == 1)
        {
            // Contiguous: a view, reused from the last step when it is the same one.
            int offset = x.Value.Offset + from * inner;
            y = IsViewOf(node?.View, x.Value, offset, (long)length * inner, shape) ? node!.View! : Tensor.View(x.Value, offset, shape);
            if (node is not null) node.View = y;
        }
        else
        {
            y = tape.Allocate(shape);
            if (y.Length > 0) ShapeKernels.CopyBlocks(x.Value.Span.Slice(from * inner), size * inner, y.Span, length * inner, outer, length * inner);
        }
        if (node is null) return tape.Wrap(y);
        node.X = x;
        (node.Outer, node.Size, node.Start, node.Inner) = (outer, size, from, inner);
        return tape.Record(node, y);
    }

    /// <summary>
    /// Splits <paramref name="x"/> along <paramref name="dim"/> into pieces of <paramref name="splitSize"/> entries, the
    /// last one smaller if the size does not divide (PyTorch's <c>split</c> with an int). Each piece is a <see cref="Narrow"/>.
    /// </summary>
    /// <exception cref="InvalidValueException"><paramref name="splitSize"/> is not positive (0 is accepted for an empty dimension).</exception>
    /// <exception cref="ShapeMismatchException">The dimension is out of range.</exception>
    public static Variable[] Split(Variable x, int splitSize, int dim = 0)
    {
        Tape.CheckAlive(x, "Split");
        int d = NormalizeDim(x.Shape, dim, "Split");
        int size = x.Shape[d];
        if (splitSize < 0 || splitSize == 0 && size > 0)
            throw new InvalidValueException(nameof(splitSize), $"Split: the split size must be positive, got {splitSize} for dimension {dim} of {ShapeMismatchException.Format(x.Shape)}.");
        int pieces = size == 0 ? 1 : (size + splitSize - 1) / splitSize;
        var result = new Variable[pieces];
        for (int i = 0; i < pieces; i++)
        {
            int from = i * splitSize;
            result[i] = Narrow(x, d, from, Math.Min(splitSize, size - from));
        }
        return result;
    }

    /// <summary>Splits <paramref name="x"/> along <paramref name="dim"/> into pieces of the given <paramref name="sizes"/>, which must add up to the dimension (PyTorch's <c>split</c> with a list).</summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range, or the sizes are negative or do not add up to it.</exception>
    public static Variable[] Split(Variable x, ReadOnlySpan<int> sizes, int dim = 0)
    {
        Tape.CheckAlive(x, "Split");
        int d = NormalizeDim(x.Shape, dim, "Split");
        long sum = 0;
        foreach (int n in sizes)
        {
            if (n < 0) throw new ShapeMismatchException($"Split: sizes {ShapeMismatchException.Format(sizes)} include a negative one.");
            sum += n;
        }
        if (sum != x.Shape[d])
            throw new ShapeMismatchException($"Split: sizes {ShapeMismatchException.Format(sizes)} add up to {sum}, but dimension {dim} of {ShapeMismatchException.Format(x.Shape)} has {x.Shape[d]}.");
        var result = new Variable[sizes.Length];
        int from = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            result[i] = Narrow(x, d, from, sizes[i]);
            from += sizes[i];
        }
        return result;
    }

    /// <summary>
    /// Splits <paramref name="x"/> along <paramref name="dim"/> into <paramref name="chunks"/> pieces of ⌈size/chunks⌉
    /// entries (PyTorch's <c>chunk</c>: the last may be smaller, and there may be fewer pieces than asked).
    /// </summary>
    /// <exception cref="InvalidValueException"><paramref name="chunks"/> is not positive.</exception>
    /// <exception cref="ShapeMismatchException">The dimension is out of range.</exception>
    public static Variable[] Chunk(Variable x, int chunks, int dim = 0)
    {
        Tape.CheckAlive(x, "Chunk");
        if (chunks <= 0) throw new InvalidValueException(nameof(chunks), $"Chunk: the number of chunks must be positive, got {chunks}.");
        int d = NormalizeDim(x.Shape, dim, "Chunk");
        int size = x.Shape[d];
        if (size == 0)
        {
            var empty = new Variable[chunks];
            for (int i = 0; i < chunks; i++) empty[i] = Narrow(x, d, 0, 0);
            return empty;
        }
        return Split(x, (size + chunks - 1) / chunks, d);
    }

    private static bool IsLegacyEmpty(Variable t) => t.Shape.Length == 1 && t.Shape[0] == 0;

    private static Variable Join(ReadOnlySpan<Variable> tensors, ReadOnlySpan<int> shape, int outer, int inner, int d, bool stack, bool needsGrad, int partRank)
    {
        var tape = Tape.Current;
        var y = tape.Allocate(shape);
        int width = shape[d] * inner;
        int offset = 0;
        foreach (var t in tensors)
        {
            if (!stack && SkippedInCat(t, partRank)) continue;
            int w = stack ? inner : t.Shape[d] * inner;
            ShapeKernels.CopyBlocks(t.Value.Span, w, y.Span.Slice(offset), width, outer, w);
            offset += w;
        }
        if (!needsGrad) return tape.Wrap(y);
        var node = tape.RentNode<JoinNode>();
        node.Parts.Clear();
        foreach (var t in tensors)
            if (stack || !SkippedInCat(t, partRank)) node.Parts.Add(t);
        (node.Outer, node.Width, node.Inner, node.Dim, node.Stacked) = (outer, width, inner, d, stack);
        return tape.Record(node, y);
    }

    private static bool SkippedInCat(Variable t, int rank) => rank != 1 && IsLegacyEmpty(t);

    private sealed class JoinNode : Node
    {
        public readonly List<Variable> Parts = new();
        public int Outer, Width, Inner, Dim;
        public bool Stacked;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!.Span;
            int offset = 0;
            foreach (var p in Parts)
            {
                int w = Stacked ? Inner : p.Shape[Dim] * Inner;
                if (tape.GradientFor(p) is { } g)
                {
                    ShapeKernels.CopyBlocks(dy.Slice(offset), Width, g.Buffer.Span, w, Outer, w);
                    g.Commit();
                }
                offset += w;
            }
        }

        internal override void Clear()
        {
            base.Clear();
            Parts.Clear();
        }
    }

    private sealed class NarrowNode : Node
    {
        public Variable X = null!;

        /// <summary>The last view made, kept across steps (it holds only storage the next step reuses).</summary>
        public Tensor? View;
        public int Outer, Size, Start, Inner;

        internal override void Backward(Tape tape)
        {
            if (PartialGradient(tape, X) is not { } g) return;
            int w = Output.Value.Length / Math.Max(Outer, 1);
            if (Outer == 0 || w == 0) return;
            ShapeKernels.AddBlocks(Output.Grad!.Span, w, g.Span.Slice(Start * Inner), Size * Inner, Outer, w);
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }
}
