using NormSharp.Errors;
using NormSharp.Kernels;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>Softmax over the last dimension.</summary>
    public static Variable Softmax(Variable x) => SoftmaxFamily(x, log: false);

    /// <summary>Log-softmax over the last dimension (stable: the row maximum is subtracted first).</summary>
    public static Variable LogSoftmax(Variable x) => SoftmaxFamily(x, log: true);

    private static Variable SoftmaxFamily(Variable x, bool log)
    {
        string op = log ? "LogSoftmax" : "Softmax";
        Tape.CheckAlive(x, op);
        if (x.Value.Rank == 0) throw new ShapeMismatchException($"{op}: the input must have at least one dimension.");
        int cols = x.Value.Dim(-1);
        int rows = cols == 0 ? 0 : x.Value.Length / cols;
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        if (log) SoftmaxKernels.LogSoftmaxForward(x.Value.Span, y.Span, rows, cols);
        else SoftmaxKernels.Forward(x.Value.Span, y.Span, rows, cols);
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<SoftmaxNode>();
        node.X = x;
        node.Log = log;
        node.Rows = rows;
        node.Cols = cols;
        return tape.Record(node, y);
    }

    private sealed class SoftmaxNode : Node
    {
        public Variable X = null!;
        public bool Log;
        public int Rows, Cols;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } gx) return;
            if (Log) SoftmaxKernels.LogSoftmaxBackward(Output.Grad!.Span, Output.Value.Span, gx.Buffer.Span, Rows, Cols);
            else SoftmaxKernels.Backward(Output.Grad!.Span, Output.Value.Span, gx.Buffer.Span, Rows, Cols);
            gx.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }
}
