using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Root-mean-square normalization (Zhang &amp; Sennrich 2019; PyTorch's <c>rms_norm</c>) over the trailing
    /// dimensions <paramref name="normalizedShape"/>: scales each sample by 1/sqrt(mean(x²)+eps) without
    /// centring, then multiplies by <paramref name="weight"/> (or not, when null). One fused node.
    /// </summary>
    public static Variable RmsNorm(Variable x, ReadOnlySpan<int> normalizedShape, Variable? weight = null, float eps = 1e-5f)
    {
        Tape.CheckAlive(x, "RmsNorm");
        Tape.CheckAlive(weight, "RmsNorm");
        int cols = NormalizedSize(x, normalizedShape, weight, null, eps, "RmsNorm");
        int rows = cols == 0 ? 0 : x.Value.Length / cols;
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        bool record = Tape.NeedsGrad(x, weight);
        Tensor rrms = record ? tape.Allocate(rows) : Tensor.Zeros(rows);
        RmsNormKernels.Forward(x.Value.Span, SpanOf(weight), y.Span, rrms.Span, rows, cols, eps);
        if (!record) return tape.Wrap(y);
        var node = tape.RentNode<RmsNormNode>();
        node.X = x;
        node.W = weight;
        node.Rrms = rrms;
        node.Rows = rows;
        node.Cols = cols;
        return tape.Record(node, y);
    }

    private sealed class RmsNormNode : Node
    {
        public Variable X = null!;
        public Variable? W;
        public Tensor Rrms = null!;
        public int Rows, Cols;

        internal override void Backward(Tape tape)
        {
            var gx = tape.GradientFor(X);
            var gw = W is null ? null : tape.GradientFor(W);
            var dx = DxBuffer(tape, gx, X);
            RmsNormKernels.Backward(Output.Grad!.Span, X.Value.Span, SpanOf(W), Rrms.Span, dx.Span, SpanOf(gw), Rows, Cols);
            gx?.Commit();
            gw?.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
            W = null;
            Rrms = null!;
        }
    }
}
