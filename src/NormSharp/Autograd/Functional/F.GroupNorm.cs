using NormSharp.Errors;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>Group normalization of [N, C, ...] inputs into <paramref name="groups"/> channel groups (PyTorch's <c>group_norm</c>), one fused node.</summary>
    public static Variable GroupNorm(Variable x, int groups, Variable? weight = null, Variable? bias = null, float eps = 1e-5f)
    {
        Tape.CheckAlive(x, "GroupNorm");
        Tape.CheckAlive(weight, "GroupNorm");
        Tape.CheckAlive(bias, "GroupNorm");
        if (x.Value.Rank < 2)
            throw new ShapeMismatchException($"GroupNorm: input must be [N, C, ...], got {ShapeMismatchException.Format(x.Shape)}.");
        int n = x.Value.Dim(0), c = x.Value.Dim(1);
        int spatial = n * c == 0 ? 0 : x.Value.Length / (n * c);
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        bool record = Tape.NeedsGrad(x, weight, bias);
        int stats = groups > 0 ? n * groups : 0;
        Tensor mean = record ? tape.Allocate(stats) : Tensor.Zeros(stats);
        Tensor rstd = record ? tape.Allocate(stats) : Tensor.Zeros(stats);
        GroupNormKernels.Forward(x.Value.Span, SpanOf(weight), SpanOf(bias), y.Span, mean.Span, rstd.Span, n, c, spatial, groups, eps);
        if (!record) return tape.Wrap(y);
        var node = tape.RentNode<GroupNormNode>();
        node.X = x;
        node.W = weight;
        node.B = bias;
        node.Mean = mean;
        node.Rstd = rstd;
        (node.N, node.C, node.Spatial, node.Groups) = (n, c, spatial, groups);
        return tape.Record(node, y);
    }

    private sealed class GroupNormNode : Node
    {
        public Variable X = null!;
        public Variable? W, B;
        public Tensor Mean = null!, Rstd = null!;
        public int N, C, Spatial, Groups;

        internal override void Backward(Tape tape)
        {
            var gx = tape.GradientFor(X);
            var gw = W is null ? null : tape.GradientFor(W);
            var gb = B is null ? null : tape.GradientFor(B);
            var dx = DxBuffer(tape, gx, X);
            GroupNormKernels.Backward(Output.Grad!.Span, X.Value.Span, SpanOf(W), Mean.Span, Rstd.Span, dx.Span,
                SpanOf(gw), SpanOf(gb), N, C, Spatial, Groups);
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
