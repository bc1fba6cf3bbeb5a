using NormSharp.Errors;
using NormSharp.Kernels;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>Softmax over dimension <paramref name="dim"/>, the last by default (PyTorch's <c>softmax(dim)</c>); the maximum is subtracted first for stability.</summary>
    /// <exception cref="ShapeMismatchException">The input is a scalar or the dimension is out of range.</exception>
    public static Variable Softmax(Variable x, int dim = -1) => SoftmaxFamily(x, dim, log: false);

    /// <summary>Log-softmax over dimension <paramref name="dim"/>, the last by default (PyTorch's <c>log_softmax(dim)</c>); computed stably, not as log(softmax).</summary>
    /// <exception cref="ShapeMismatchException">The input is a scalar or the dimension is out of range.</exception>
    public static Variable LogSoftmax(Variable x, int dim = -1) => SoftmaxFamily(x, dim, log: true);

    private static Variable SoftmaxFamily(Variable x, int dim, bool log)
    {
        string op = log ? "LogSoftmax" : "Softmax";
        Tape.CheckAlive(x, op);
        if (x.Value.Rank == 0) throw new ShapeMismatchException($"{op}: the input must have at least one dimension.");
        int d = NormalizeDim(x.Shape, dim, op);
        var (outer, n, inner) = SplitAt(x.Shape, d);
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        if (y.Length == 0) { }
        else if (inner == 1)
        {
            if (log) SoftmaxKernels.LogSoftmaxForward(x.Value.Span, y.Span, outer, n);
            else SoftmaxKernels.Forward(x.Value.Span, y.Span, outer, n);
        }
        else
        {
            var scratch = tape.Allocate(2 * inner);
            AxisSoftmaxKernels.Forward(x.Value.Span, y.Span, outer, n, inner, scratch.Span, log);
        }
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<SoftmaxNode>();
        node.X = x;
        node.Log = log;
        (node.Outer, node.N, node.Inner) = (outer, n, inner);
        return tape.Record(node, y);
    }

    private sealed class SoftmaxNode : Node
    {
        public Variable X = null!;
        public bool Log;
        public int Outer, N, Inner;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } gx) return;
            var (dy, y, dx) = (Output.Grad!, Output.Value, gx.Buffer);
            if (y.Length == 0) { }
            else if (Inner == 1)
            {
                if (Log) SoftmaxKernels.LogSoftmaxBackward(dy.Span, y.Span, dx.Span, Outer, N);
                else SoftmaxKernels.Backward(dy.Span, y.Span, dx.Span, Outer, N);
            }
            else AxisSoftmaxKernels.Backward(dy.Span, y.Span, dx.Span, Outer, N, Inner, tape.Allocate(Inner).Span, Log);
            gx.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }
}
