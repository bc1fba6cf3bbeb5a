using NormSharp.Errors;
using NormSharp.Kernels;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// y = x·Wᵀ + b as one fused node (PyTorch's <c>linear</c>): <paramref name="x"/> is [..., in],
    /// <paramref name="weight"/> [out, in], <paramref name="bias"/> [out] or null; y is [..., out].
    /// </summary>
    public static Variable Linear(Variable x, Variable weight, Variable? bias = null)
    {
        Tape.CheckAlive(x, "Linear");
        Tape.CheckAlive(weight, "Linear");
        Tape.CheckAlive(bias, "Linear");
        if (weight.Value.Rank != 2)
            throw new ShapeMismatchException($"Linear: weight must be [out, in], got {ShapeMismatchException.Format(weight.Shape)}.");
        int outF = weight.Value.Dim(0), inF = weight.Value.Dim(1);
        if (x.Value.Rank == 0 || x.Value.Dim(-1) != inF)
            throw new ShapeMismatchException($"Linear: input {ShapeMismatchException.Format(x.Shape)} must end in {inF} features to match weight {ShapeMismatchException.Format(weight.Shape)}.");
        if (bias is not null && !bias.Shape.SequenceEqual([outF]))
            throw new ShapeMismatchException($"Linear: bias must be [{outF}], got {ShapeMismatchException.Format(bias.Shape)}.");
        int rows = inF == 0 ? 0 : x.Value.Length / inF;

        var tape = Tape.Current;
        Span<int> shape = stackalloc int[x.Value.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = outF;
        var y = tape.Allocate(shape);
        Gemm.Multiply(false, true, rows, outF, inF, 1f, x.Value.Span, inF, weight.Value.Span, inF, 0f, y.Span, outF);
        if (bias is not null) ElementwiseKernels.AddRowBroadcast(y.Span, bias.Value.Span, y.Span, rows, outF);

        if (!Tape.NeedsGrad(x, weight, bias)) return tape.Wrap(y);
        var node = tape.RentNode<LinearNode>();
        node.X = x;
        node.W = weight;
        node.B = bias;
        node.Rows = rows;
        return tape.Record(node, y);
    }

    private sealed class LinearNode : Node
    {
        public Variable X = null!, W = null!;
        public Variable? B;
        public int Rows;

        internal override void Backward(Tape tape)
        {
            int outF = W.Value.Dim(0), inF = W.Value.Dim(1);
            var dy = Output.Grad!.Span;
            if (tape.GradientForAccumulatingKernel(X, out bool accX) is { } dx)
                Gemm.Multiply(false, false, Rows, inF, outF, 1f, dy, outF, W.Value.Span, inF, accX ? 1f : 0f, dx.Span, inF);
            if (tape.GradientForAccumulatingKernel(W, out bool accW) is { } dw)
                Gemm.Multiply(true, false, outF, inF, Rows, 1f, dy, outF, X.Value.Span, inF, accW ? 1f : 0f, dw.Span, inF);
            if (B is not null && tape.GradientForAccumulatingKernel(B, out bool accB) is { } db)
                ElementwiseKernels.SumOverRows(dy, db.Span, Rows, outF, accB);
        }

        internal override void Clear()
        {
            base.Clear();
            X = W = null!;
            B = null;
        }
    }
}
