using NormSharp.Errors;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Layer normalization over the trailing dimensions <paramref name="normalizedShape"/> of <paramref name="x"/>
    /// (PyTorch's <c>layer_norm</c>): each sample is centred and scaled by its own statistics, then
    /// multiplied by <paramref name="weight"/> and shifted by <paramref name="bias"/> (both shaped like
    /// <paramref name="normalizedShape"/>, either may be null). One fused node.
    /// </summary>
    public static Variable LayerNorm(Variable x, ReadOnlySpan<int> normalizedShape, Variable? weight = null, Variable? bias = null, float eps = 1e-5f)
    {
        Tape.CheckAlive(x, "LayerNorm");
        Tape.CheckAlive(weight, "LayerNorm");
        Tape.CheckAlive(bias, "LayerNorm");
        int cols = NormalizedSize(x, normalizedShape, weight, bias, eps, "LayerNorm");
        int rows = cols == 0 ? 0 : x.Value.Length / cols;
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        bool record = Tape.NeedsGrad(x, weight, bias);
        Tensor mean = record ? tape.Allocate(rows) : Tensor.Zeros(rows);
        Tensor rstd = record ? tape.Allocate(rows) : Tensor.Zeros(rows);
        LayerNormKernels.Forward(x.Value.Span, SpanOf(weight), SpanOf(bias), y.Span, mean.Span, rstd.Span, rows, cols, eps);
        if (!record) return tape.Wrap(y);
        var node = tape.RentNode<LayerNormNode>();
        node.X = x;
        node.W = weight;
        node.B = bias;
        node.Mean = mean;
        node.Rstd = rstd;
        node.Rows = rows;
        node.Cols = cols;
        return tape.Record(node, y);
    }

    /// <summary>Checks the options shared by LayerNorm and RMSNorm and returns the normalized size.</summary>
    private static int NormalizedSize(Variable x, ReadOnlySpan<int> normalizedShape, Variable? weight, Variable? bias, float eps, string op)
    {
        Kernels.Normalization.NormalizationArguments.CheckEps(op, eps);
        var xs = x.Shape;
        if (normalizedShape.Length == 0 || normalizedShape.Length > xs.Length || !xs[(xs.Length - normalizedShape.Length)..].SequenceEqual(normalizedShape))
            throw new ShapeMismatchException($"{op}: normalized shape {ShapeMismatchException.Format(normalizedShape)} does not match the trailing dimensions of the input {ShapeMismatchException.Format(xs)}.");
        int cols = (int)Tensor.CheckedLength(normalizedShape);
        if (weight is not null && weight.Value.Length != cols)
            throw new ShapeMismatchException($"{op}: weight has shape {ShapeMismatchException.Format(weight.Shape)} ({weight.Value.Length} elements) but the normalized shape {ShapeMismatchException.Format(normalizedShape)} has {cols}.");
        if (bias is not null && bias.Value.Length != cols)
            throw new ShapeMismatchException($"{op}: bias has shape {ShapeMismatchException.Format(bias.Shape)} ({bias.Value.Length} elements) but the normalized shape {ShapeMismatchException.Format(normalizedShape)} has {cols}.");
        return cols;
    }

    private static ReadOnlySpan<float> SpanOf(Variable? v) => v is null ? ReadOnlySpan<float>.Empty : v.Value.Span;

    /// <summary>Where a kernel writes an optional gradient: the target's buffer, or an empty span meaning "not wanted".</summary>
    private static Span<float> SpanOf(GradientTarget? g) => g is { } t ? t.Buffer.Span : Span<float>.Empty;

    /// <summary>
    /// Where a kernel that always writes dx puts it: the input's gradient buffer, or step scratch when the
    /// input needs no gradient (a parameter-only backward still needs somewhere to write dx).
    /// </summary>
    private static Tensor DxBuffer(Tape tape, GradientTarget? gx, Variable x) => gx?.Buffer ?? tape.Allocate(x.Shape);

    private sealed class LayerNormNode : Node
    {
        public Variable X = null!;
        public Variable? W, B;
        public Tensor Mean = null!, Rstd = null!;
        public int Rows, Cols;

        internal override void Backward(Tape tape)
        {
            var gx = tape.GradientFor(X);
            var gw = W is null ? null : tape.GradientFor(W);
            var gb = B is null ? null : tape.GradientFor(B);
            // The kernel writes dx always; give it scratch when x needs no gradient.
            var dx = DxBuffer(tape, gx, X);
            LayerNormKernels.Backward(Output.Grad!.Span, X.Value.Span, SpanOf(W), Mean.Span, Rstd.Span,
                dx.Span, SpanOf(gw), SpanOf(gb), Rows, Cols);
            gx?.Commit();
            gw?.Commit();
            gb?.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
            W = B = null;
            Mean = Rstd = null!;
        }
    }
}
