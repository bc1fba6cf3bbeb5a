using NormSharp.Errors;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// LayerNorm(x + residual) in one fused pass (the Post-LN residual connection): equal to
    /// <c>LayerNorm(Add(x, residual), ...)</c> without the intermediate sum as a separate pass over memory.
    /// <paramref name="x"/> and <paramref name="residual"/> have the same shape (no broadcasting).
    /// </summary>
    public static Variable AddLayerNorm(Variable x, Variable residual, ReadOnlySpan<int> normalizedShape, Variable? weight = null, Variable? bias = null, float eps = 1e-5f) =>
        ResidualNorm("AddLayerNorm", x, residual, normalizedShape, weight, bias, eps, centered: true, keepSum: false).Normalized;

    /// <summary>
    /// h = x + residual and LayerNorm(h) in one fused pass, both returned (the Pre-LN residual stream: h continues
    /// the stream while the normalized value feeds the next sublayer). In the backward pass the normalization's
    /// gradient is added to the gradient already reaching h along the stream in the same pass.
    /// </summary>
    public static (Variable Sum, Variable Normalized) AddLayerNormWithSum(Variable x, Variable residual, ReadOnlySpan<int> normalizedShape, Variable? weight = null, Variable? bias = null, float eps = 1e-5f) =>
        ResidualNorm("AddLayerNorm", x, residual, normalizedShape, weight, bias, eps, centered: true, keepSum: true);

    /// <summary>RMSNorm(x + residual) in one fused pass; see <see cref="AddLayerNorm"/>.</summary>
    public static Variable AddRmsNorm(Variable x, Variable residual, ReadOnlySpan<int> normalizedShape, Variable? weight = null, float eps = 1e-5f) =>
        ResidualNorm("AddRmsNorm", x, residual, normalizedShape, weight, null, eps, centered: false, keepSum: false).Normalized;

    /// <summary>h = x + residual and RMSNorm(h) in one fused pass, both returned; see <see cref="AddLayerNormWithSum"/>.</summary>
    public static (Variable Sum, Variable Normalized) AddRmsNormWithSum(Variable x, Variable residual, ReadOnlySpan<int> normalizedShape, Variable? weight = null, float eps = 1e-5f) =>
        ResidualNorm("AddRmsNorm", x, residual, normalizedShape, weight, null, eps, centered: false, keepSum: true);

    private static (Variable Sum, Variable Normalized) ResidualNorm(string op, Variable x, Variable residual, ReadOnlySpan<int> normalizedShape,
        Variable? weight, Variable? bias, float eps, bool centered, bool keepSum)
    {
        Tape.CheckAlive(x, op);
        Tape.CheckAlive(residual, op);
        Tape.CheckAlive(weight, op);
        Tape.CheckAlive(bias, op);
        if (!x.Shape.SequenceEqual(residual.Shape))
            throw new ShapeMismatchException($"{op}: x {ShapeMismatchException.Format(x.Shape)} and the residual {ShapeMismatchException.Format(residual.Shape)} must have the same shape.");
        int cols = NormalizedSize(x, normalizedShape, weight, bias, eps, op);
        int rows = cols == 0 ? 0 : x.Value.Length / cols;
        var tape = Tape.Current;
        bool record = Tape.NeedsGrad(x, residual, weight) || (bias is not null && Tape.NeedsGrad(bias));
        var sum = tape.Allocate(x.Shape);
        var y = tape.Allocate(x.Shape);
        Tensor mean = centered ? (record ? tape.Allocate(rows) : Tensor.Zeros(rows)) : null!;
        Tensor rstd = record ? tape.Allocate(rows) : Tensor.Zeros(rows);
        if (centered)
            ResidualNormKernels.LayerNormForward(x.Value.Span, residual.Value.Span, SpanOf(weight), SpanOf(bias), sum.Span, y.Span, mean.Span, rstd.Span, rows, cols, eps);
        else
            ResidualNormKernels.RmsNormForward(x.Value.Span, residual.Value.Span, SpanOf(weight), sum.Span, y.Span, rstd.Span, rows, cols, eps);
        if (!record) return (keepSum ? tape.Wrap(sum) : null!, tape.Wrap(y));

        Variable? sumVariable = null;
        if (keepSum)
        {
            var sumNode = tape.RentNode<ResidualSumNode>();
            (sumNode.X, sumNode.Residual) = (x, residual);
            sumVariable = tape.Record(sumNode, sum);
        }
        var node = tape.RentNode<ResidualNormNode>();
        (node.X, node.Residual, node.SumVariable, node.Sum) = (x, residual, sumVariable, sum);
        (node.W, node.B, node.Mean, node.Rstd, node.Rows, node.Cols, node.Centered) = (weight, bias, mean, rstd, rows, cols, centered);
        return (sumVariable!, tape.Record(node, y));
    }

    /// <summary>Passes the sum's gradient on to both of its terms.</summary>
    private sealed class ResidualSumNode : Node
    {
        public Variable X = null!, Residual = null!;

        internal override void Backward(Tape tape)
        {
            var g = Output.Grad!.Span;
            if (tape.GradientFor(X) is { } gx)
            {
                g.CopyTo(gx.Buffer.Span);
                gx.Commit();
            }
            if (tape.GradientFor(Residual) is { } gr)
            {
                g.CopyTo(gr.Buffer.Span);
                gr.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            X = Residual = null!;
        }
    }

    /// <summary>
    /// The normalization of a residual sum. When the sum is a variable of its own (<see cref="SumVariable"/>) its
    /// gradient is accumulated in place; otherwise it is formed here and handed to both terms.
    /// </summary>
    private sealed class ResidualNormNode : Node
    {
        public Variable X = null!, Residual = null!;
        public Variable? SumVariable, W, B;
        public Tensor Sum = null!, Mean = null!, Rstd = null!;
        public int Rows, Cols;
        public bool Centered;

        internal override void Backward(Tape tape)
        {
            var gw = W is null ? null : tape.GradientFor(W);
            var gb = B is null ? null : tape.GradientFor(B);
            if (SumVariable is not null)
            {
                if (tape.GradientForAccumulatingKernel(SumVariable, out bool accumulate) is { } ds)
                    Kernel(ds.Span, accumulate, gw, gb);
                else
                    Kernel(tape.Allocate(Sum.Shape).Span, false, gw, gb);
            }
            else
            {
                var gx = tape.GradientFor(X);
                var gr = tape.GradientFor(Residual);
                var d = gx?.Buffer ?? gr?.Buffer ?? tape.Allocate(Sum.Shape);
                Kernel(d.Span, false, gw, gb);
                if (gx is not null && gr is not null) d.Span.CopyTo(gr.Value.Buffer.Span);
                gx?.Commit();
                gr?.Commit();
            }
            gw?.Commit();
            gb?.Commit();
        }

        private void Kernel(Span<float> dsum, bool accumulate, GradientTarget? gw, GradientTarget? gb)
        {
            var dy = Output.Grad!.Span;
            if (Centered)
                ResidualNormKernels.LayerNormBackward(dy, Sum.Span, SpanOf(W), Mean.Span, Rstd.Span, dsum, accumulate, SpanOf(gw), SpanOf(gb), Rows, Cols);
            else
                ResidualNormKernels.RmsNormBackward(dy, Sum.Span, SpanOf(W), Rstd.Span, dsum, accumulate, SpanOf(gw), Rows, Cols);
        }

        internal override void Clear()
        {
            base.Clear();
            X = Residual = null!;
            SumVariable = W = B = null;
            Sum = Mean = Rstd = null!;
        }
    }
}
