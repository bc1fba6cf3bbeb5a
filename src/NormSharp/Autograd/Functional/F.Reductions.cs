using System.Buffers;
using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>Sum of all elements, as a scalar (PyTorch's <c>sum()</c>); accumulated in double precision.</summary>
    public static Variable Sum(Variable a) => ReduceAll(a, 1.0, "Sum");

    /// <summary>Mean of all elements, as a scalar (PyTorch's <c>mean()</c>; NaN for an empty tensor); accumulated in double precision.</summary>
    public static Variable Mean(Variable a) => ReduceAll(a, 1.0 / a.Value.Length, "Mean");

    /// <summary>
    /// Sum over dimension <paramref name="dim"/> (negative counts from the end), which is removed from the
    /// shape unless <paramref name="keepDim"/> (PyTorch's <c>sum(dim, keepdim)</c>).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range.</exception>
    public static Variable Sum(Variable a, int dim, bool keepDim = false) => ReduceDims(a, [dim], keepDim, mean: false, "Sum");

    /// <summary>Sum over the dimensions <paramref name="dims"/> (an empty list means all, as in PyTorch); each is removed unless <paramref name="keepDim"/>.</summary>
    /// <exception cref="ShapeMismatchException">A dimension is out of range or listed twice.</exception>
    public static Variable Sum(Variable a, ReadOnlySpan<int> dims, bool keepDim = false) => ReduceDims(a, dims, keepDim, mean: false, "Sum");

    /// <summary>Mean over dimension <paramref name="dim"/>, removed unless <paramref name="keepDim"/> (PyTorch's <c>mean(dim, keepdim)</c>).</summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range.</exception>
    public static Variable Mean(Variable a, int dim, bool keepDim = false) => ReduceDims(a, [dim], keepDim, mean: true, "Mean");

    /// <summary>Mean over the dimensions <paramref name="dims"/> (an empty list means all); each is removed unless <paramref name="keepDim"/>.</summary>
    /// <exception cref="ShapeMismatchException">A dimension is out of range or listed twice.</exception>
    public static Variable Mean(Variable a, ReadOnlySpan<int> dims, bool keepDim = false) => ReduceDims(a, dims, keepDim, mean: true, "Mean");

    /// <summary>
    /// The largest element, as a scalar (PyTorch's <c>max()</c>): NaN if any element is NaN. The gradient is
    /// shared equally among the elements that attain the maximum, as in PyTorch.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The tensor is empty.</exception>
    public static Variable Max(Variable a) => ExtremumAll(a, minimum: false, "Max");

    /// <summary>The smallest element, as a scalar (PyTorch's <c>min()</c>), as <see cref="Max(Variable)"/>.</summary>
    /// <exception cref="ShapeMismatchException">The tensor is empty.</exception>
    public static Variable Min(Variable a) => ExtremumAll(a, minimum: true, "Min");

    /// <summary>
    /// The maximum over dimension <paramref name="dim"/>, removed unless <paramref name="keepDim"/> (the values of
    /// PyTorch's <c>max(dim, keepdim)</c>; <see cref="ArgMax(Variable, int, bool)"/> gives the indices). NaN wins.
    /// The gradient flows to the element whose index <see cref="ArgMax(Variable, int, bool)"/> reports (the first maximum).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range, or it is empty while others are not.</exception>
    public static Variable Max(Variable a, int dim, bool keepDim = false) => ExtremumDim(a, dim, keepDim, minimum: false, "Max");

    /// <summary>The minimum over dimension <paramref name="dim"/> (the values of PyTorch's <c>min(dim, keepdim)</c>), as <see cref="Max(Variable, int, bool)"/>.</summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range, or it is empty while others are not.</exception>
    public static Variable Min(Variable a, int dim, bool keepDim = false) => ExtremumDim(a, dim, keepDim, minimum: true, "Min");

    /// <summary>
    /// The index of the maximum over dimension <paramref name="dim"/> (the first, or the first NaN), removed unless
    /// <paramref name="keepDim"/> (PyTorch's <c>argmax(dim, keepdim)</c>). Not differentiable: the result is a new
    /// tensor, outside any tape, holding the indices as exact float values.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range, or it is empty while others are not.</exception>
    public static Tensor ArgMax(Variable a, int dim, bool keepDim = false) => ArgExtremum(a, dim, keepDim, minimum: false, "ArgMax");

    /// <summary>The index of the minimum over dimension <paramref name="dim"/> (PyTorch's <c>argmin(dim, keepdim)</c>), as <see cref="ArgMax(Variable, int, bool)"/>.</summary>
    /// <exception cref="ShapeMismatchException">The dimension is out of range, or it is empty while others are not.</exception>
    public static Tensor ArgMin(Variable a, int dim, bool keepDim = false) => ArgExtremum(a, dim, keepDim, minimum: true, "ArgMin");

    /// <summary>
    /// The maximum over the dimensions <paramref name="dims"/> (an empty list means all), each removed unless
    /// <paramref name="keepDim"/> (PyTorch's <c>amax</c>). NaN wins. The gradient is shared equally among the
    /// elements that attain each maximum, as in PyTorch.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A dimension is out of range, listed twice, or empty while the result is not.</exception>
    public static Variable Amax(Variable a, ReadOnlySpan<int> dims, bool keepDim = false) => ExtremumDims(a, dims, keepDim, minimum: false, "Amax");

    /// <summary>The minimum over the dimensions <paramref name="dims"/> (PyTorch's <c>amin</c>), as <see cref="Amax"/>.</summary>
    /// <exception cref="ShapeMismatchException">A dimension is out of range, listed twice, or empty while the result is not.</exception>
    public static Variable Amin(Variable a, ReadOnlySpan<int> dims, bool keepDim = false) => ExtremumDims(a, dims, keepDim, minimum: true, "Amin");

    /// <summary>The flat (row-major) index of the largest element, as a new scalar tensor (PyTorch's <c>argmax()</c>); not differentiable.</summary>
    /// <exception cref="ShapeMismatchException">The tensor is empty.</exception>
    public static Tensor ArgMax(Variable a) => Tensor.Scalar(IndexOfExtremum(a, minimum: false, "ArgMax"));

    /// <summary>The flat index of the smallest element, as a new scalar tensor (PyTorch's <c>argmin()</c>); not differentiable.</summary>
    /// <exception cref="ShapeMismatchException">The tensor is empty.</exception>
    public static Tensor ArgMin(Variable a) => Tensor.Scalar(IndexOfExtremum(a, minimum: true, "ArgMin"));

    /// <summary>The flat index of the first maximum (minimum), or of the first NaN.</summary>
    private static int IndexOfExtremum(Variable a, bool minimum, string op)
    {
        Tape.CheckAlive(a, op);
        if (a.Value.Length == 0)
            throw new ShapeMismatchException($"{op}: the input {ShapeMismatchException.Format(a.Shape)} is empty, so it has no {(minimum ? "minimum" : "maximum")}.");
        return minimum ? System.Numerics.Tensors.TensorPrimitives.IndexOfMin(a.Value.Span) : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(a.Value.Span);
    }

    private static Variable ExtremumAll(Variable a, bool minimum, string op)
    {
        int at = IndexOfExtremum(a, minimum, op);
        var tape = Tape.Current;
        var y = tape.Allocate(ReadOnlySpan<int>.Empty);
        y[0] = a.Value[at];
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ExtremumAllNode>();
        node.X = a;
        return tape.Record(node, y);
    }

    /// <summary>Checks a reduction over one dimension that must not be empty; returns it and the tensor's [outer, n, inner] view.</summary>
    private static (int Dim, int Outer, int N, int Inner) ExtremumAxis(Variable a, int dim, string op)
    {
        Tape.CheckAlive(a, op);
        int d = NormalizeDim(a.Shape, dim, op);
        var (outer, n, inner) = SplitAt(a.Shape, d);
        if (n == 0 && outer * inner > 0)
            throw new ShapeMismatchException($"{op}: dimension {dim} of {ShapeMismatchException.Format(a.Shape)} is empty, so it has no extremum.");
        return (d, outer, n, inner);
    }

    private static void ExtremumKernel(ReadOnlySpan<float> x, int outer, int n, int inner, Span<float> values, Span<int> indices, bool minimum)
    {
        if (minimum) ReductionKernels.MinAlongAxis(x, outer, n, inner, values, indices);
        else ReductionKernels.MaxAlongAxis(x, outer, n, inner, values, indices);
    }

    private static Variable ExtremumDim(Variable a, int dim, bool keepDim, bool minimum, string op)
    {
        var (d, outer, n, inner) = ExtremumAxis(a, dim, op);
        var tape = Tape.Current;
        Span<int> shape = stackalloc int[a.Value.Rank];
        var y = tape.Allocate(ReducedShape(a.Shape, d, keepDim, shape));
        int count = outer * inner;
        if (!Tape.NeedsGrad(a))
        {
            int[] rented = ArrayPool<int>.Shared.Rent(count);
            try { ExtremumKernel(a.Value.Span, outer, n, inner, y.Span, rented.AsSpan(0, count), minimum); }
            finally { ArrayPool<int>.Shared.Return(rented); }
            return tape.Wrap(y);
        }
        var node = tape.RentNode<ExtremumDimNode>();
        if (node.Indices.Length < count) node.Indices = new int[count];
        ExtremumKernel(a.Value.Span, outer, n, inner, y.Span, node.Indices.AsSpan(0, count), minimum);
        node.X = a;
        (node.Outer, node.N, node.Inner) = (outer, n, inner);
        return tape.Record(node, y);
    }

    private static Variable ExtremumDims(Variable a, ReadOnlySpan<int> dims, bool keepDim, bool minimum, string op)
    {
        Tape.CheckAlive(a, op);
        int rank = a.Value.Rank;
        Span<bool> reduce = stackalloc bool[rank];
        if (dims.IsEmpty) reduce.Fill(true);
        foreach (int dim in dims)
        {
            int d = NormalizeDim(a.Shape, dim, op);
            if (reduce[d])
                throw new ShapeMismatchException($"{op}: dimension {dim} appears twice in {ShapeMismatchException.Format(dims)} (shape {ShapeMismatchException.Format(a.Shape)}).");
            reduce[d] = true;
        }
        Span<int> keepShape = stackalloc int[rank];
        Span<int> outShape = stackalloc int[rank];
        int outRank = 0;
        bool emptyReduced = false;
        for (int d = 0; d < rank; d++)
        {
            keepShape[d] = reduce[d] ? 1 : a.Shape[d];
            emptyReduced |= reduce[d] && a.Shape[d] == 0;
            if (!reduce[d] || keepDim) outShape[outRank++] = keepShape[d];
        }
        var tape = Tape.Current;
        var y = tape.Allocate(outShape[..outRank]);
        if (emptyReduced && y.Length > 0)
            throw new ShapeMismatchException($"{op}: a reduced dimension of {ShapeMismatchException.Format(a.Shape)} is empty, so there is no extremum.");
        // One dimension at a time, the last first, through scratch shaped like the input with the done dimensions at 1.
        Span<int> current = stackalloc int[rank];
        a.Shape.CopyTo(current);
        ReadOnlySpan<float> src = a.Value.Span;
        int remaining = 0;
        for (int d = 0; d < rank; d++) if (reduce[d] && a.Shape[d] != 1) remaining++;
        if (remaining == 0 || y.Length == 0) src[..y.Length].CopyTo(y.Span);
        for (int d = rank - 1; d >= 0 && y.Length > 0; d--)
        {
            if (!reduce[d] || current[d] == 1) continue;
            var (outer, n, inner) = SplitAt(current, d);
            current[d] = 1;
            var dst = --remaining == 0 ? y.Span : tape.Allocate(current).Span;
            int[] idx = ArrayPool<int>.Shared.Rent(outer * inner);
            try { ExtremumKernel(src, outer, n, inner, dst, idx.AsSpan(0, outer * inner), minimum); }
            finally { ArrayPool<int>.Shared.Return(idx); }
            src = dst;
        }
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ExtremumDimsNode>();
        node.X = a;
        node.KeepShape = ShapeBuffer(node.KeepShape, keepShape);
        return tape.Record(node, y);
    }

    private static Tensor ArgExtremum(Variable a, int dim, bool keepDim, bool minimum, string op)
    {
        var (d, outer, n, inner) = ExtremumAxis(a, dim, op);
        Span<int> shape = stackalloc int[a.Value.Rank];
        var result = Tensor.Zeros(ReducedShape(a.Shape, d, keepDim, shape));
        int count = outer * inner;
        int[] indices = ArrayPool<int>.Shared.Rent(count);
        float[] values = ArrayPool<float>.Shared.Rent(count);
        try
        {
            ExtremumKernel(a.Value.Span, outer, n, inner, values.AsSpan(0, count), indices.AsSpan(0, count), minimum);
            var r = result.Span;
            for (int i = 0; i < count; i++) r[i] = indices[i];
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indices);
            ArrayPool<float>.Shared.Return(values);
        }
        return result;
    }

    private static Variable ReduceAll(Variable a, double factor, string op)
    {
        Tape.CheckAlive(a, op);
        var tape = Tape.Current;
        var y = tape.Allocate(ReadOnlySpan<int>.Empty);
        y[0] = (float)(ReductionKernels.SumDouble(a.Value.Span) * factor);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ReduceNode>();
        node.A = a;
        node.Factor = (float)factor;
        return tape.Record(node, y);
    }

    private static Variable ReduceDims(Variable a, ReadOnlySpan<int> dims, bool keepDim, bool mean, string op)
    {
        Tape.CheckAlive(a, op);
        int rank = a.Value.Rank;
        Span<bool> reduce = stackalloc bool[rank];
        if (dims.IsEmpty) reduce.Fill(true);
        foreach (int dim in dims)
        {
            int d = NormalizeDim(a.Shape, dim, op);
            if (reduce[d])
                throw new ShapeMismatchException($"{op}: dimension {dim} appears twice in {ShapeMismatchException.Format(dims)} (shape {ShapeMismatchException.Format(a.Shape)}).");
            reduce[d] = true;
        }
        Span<int> keepShape = stackalloc int[rank];
        Span<int> outShape = stackalloc int[rank];
        long count = 1;
        int outRank = 0;
        for (int d = 0; d < rank; d++)
        {
            keepShape[d] = reduce[d] ? 1 : a.Shape[d];
            if (reduce[d]) count *= a.Shape[d];
            if (!reduce[d] || keepDim) outShape[outRank++] = keepShape[d];
        }
        var tape = Tape.Current;
        var y = tape.Allocate(outShape[..outRank]);
        double factor = mean ? 1.0 / count : 1.0;
        BroadcastKernels.SumToScaled(a.Value.Span, a.Shape, y.Span, keepShape, factor);
        if (!Tape.NeedsGrad(a)) return tape.Wrap(y);
        var node = tape.RentNode<ReduceDimsNode>();
        node.A = a;
        node.Factor = (float)factor;
        node.KeepShape = ShapeBuffer(node.KeepShape, keepShape);
        return tape.Record(node, y);
    }

    /// <summary>The shape of a reduction over dimension <paramref name="d"/>, written into <paramref name="buffer"/>.</summary>
    private static ReadOnlySpan<int> ReducedShape(ReadOnlySpan<int> shape, int d, bool keepDim, Span<int> buffer)
    {
        int r = 0;
        for (int i = 0; i < shape.Length; i++)
        {
            if (i != d) buffer[r++] = shape[i];
            else if (keepDim) buffer[r++] = 1;
        }
        return buffer[..r];
    }

    /// <summary>The tensor as [outer, shape[d], inner]: the products of the dimensions before and after d.</summary>
    private static (int Outer, int N, int Inner) SplitAt(ReadOnlySpan<int> shape, int d)
    {
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.Length; i++) inner *= shape[i];
        return ((int)outer, shape[d], (int)inner);
    }

    /// <summary>Copies <paramref name="shape"/> into a node's reusable buffer (reallocated only when the rank changes).</summary>
    private static int[] ShapeBuffer(int[] buffer, ReadOnlySpan<int> shape)
    {
        if (buffer.Length != shape.Length) buffer = new int[shape.Length];
        shape.CopyTo(buffer);
        return buffer;
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

    private sealed class ReduceDimsNode : Node
    {
        public Variable A = null!;
        public float Factor;
        public int[] KeepShape = [];

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(A) is not { } ga) return;
            var dst = ga.Buffer.Span;
            // The output's elements are laid out as in the keep-dims shape, so it broadcasts straight back.
            BroadcastKernels.BroadcastTo(Output.Grad!.Span, KeepShape, dst, A.Shape);
            if (Factor != 1f) ElementwiseKernels.Scale(dst, Factor, dst);
            ga.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            A = null!;
        }
    }

    private sealed class ExtremumAllNode : Node
    {
        public Variable X = null!;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } g) return;
            float max = Output.Value[0]; // the maximum or minimum; ties share the gradient either way
            var x = X.Value.Span;
            var dst = g.Buffer.Span;
            bool nan = float.IsNaN(max);
            int ties = 0;
            foreach (float v in x) if (v == max || nan && float.IsNaN(v)) ties++;
            float share = Output.Grad![0] / ties;
            for (int i = 0; i < x.Length; i++) dst[i] = x[i] == max || nan && float.IsNaN(x[i]) ? share : 0f;
            g.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }

    private sealed class ExtremumDimsNode : Node
    {
        public Variable X = null!;
        public int[] KeepShape = [];

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } g) return;
            // dx = dy / (number of ties) at every element equal to its extremum, as PyTorch's amax/amin.
            var xs = X.Shape;
            var ties = g.Buffer.Span;
            BroadcastKernels.Matches(X.Value.Span, xs, Output.Value.Span, KeepShape, ties, xs);
            var share = tape.Allocate(KeepShape);
            BroadcastKernels.SumTo(ties, xs, share.Span, KeepShape);
            System.Numerics.Tensors.TensorPrimitives.Divide(Output.Grad!.Span, share.Span, share.Span);
            BroadcastKernels.Mul(ties, xs, share.Span, KeepShape, ties, xs);
            g.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }

    private sealed class ExtremumDimNode : Node
    {
        public Variable X = null!;
        public int[] Indices = [];
        public int Outer, N, Inner;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } g) return;
            var dst = g.Buffer.Span;
            dst.Clear();
            var dy = Output.Grad!.Span;
            for (int o = 0; o < Outer; o++)
                for (int j = 0; j < Inner; j++)
                    dst[(o * N + Indices[o * Inner + j]) * Inner + j] = dy[o * Inner + j];
            g.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }
}
