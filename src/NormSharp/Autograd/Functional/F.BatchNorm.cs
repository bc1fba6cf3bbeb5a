using NormSharp.Errors;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Batch normalization of [N, C] or [N, C, L] inputs as one fused node (PyTorch's <c>batch_norm</c>).
    /// With <paramref name="training"/> it normalizes with the batch statistics and, when running
    /// statistics are given, updates them in place with <paramref name="momentum"/>; otherwise it
    /// normalizes with the running statistics, which must be given.
    /// </summary>
    public static Variable BatchNorm(Variable x, Variable? weight, Variable? bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        Tape.CheckAlive(x, "BatchNorm");
        Tape.CheckAlive(weight, "BatchNorm");
        Tape.CheckAlive(bias, "BatchNorm");
        if (x.Value.Rank is not (2 or 3))
            throw new ShapeMismatchException($"BatchNorm: input must be [N, C] or [N, C, L], got {ShapeMismatchException.Format(x.Shape)}.");
        int n = x.Value.Dim(0), c = x.Value.Dim(1), l = x.Value.Rank == 3 ? x.Value.Dim(2) : 1;
        if (weight is not null && weight.Value.Length != c)
            throw new ShapeMismatchException($"BatchNorm: weight has {weight.Value.Length} elements for {c} channels.");
        if (bias is not null && bias.Value.Length != c)
            throw new ShapeMismatchException($"BatchNorm: bias has {bias.Value.Length} elements for {c} channels.");
        if (!training && (runningMean is null || runningVar is null))
            throw new InvalidValueException(nameof(runningMean), "BatchNorm: evaluation mode needs running statistics.");
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        bool record = Tape.NeedsGrad(x, weight, bias);
        Tensor? saveMean = null, saveInvStd = null;
        if (training)
        {
            saveMean = record ? tape.Allocate(c) : Tensor.Zeros(c);
            saveInvStd = record ? tape.Allocate(c) : Tensor.Zeros(c);
            BatchNormKernels.ForwardTraining(x.Value.Span, SpanOf(weight), SpanOf(bias), y.Span, saveMean.Span, saveInvStd.Span,
                runningMean is null ? Span<float>.Empty : runningMean.Span, runningVar is null ? Span<float>.Empty : runningVar.Span, n, c, l, eps, momentum);
        }
        else
        {
            BatchNormKernels.ForwardInference(x.Value.Span, SpanOf(weight), SpanOf(bias), runningMean!.Span, runningVar!.Span, y.Span, n, c, l, eps);
        }
        if (!record) return tape.Wrap(y);
        var node = tape.RentNode<BatchNormNode>();
        node.X = x;
        node.W = weight;
        node.B = bias;
        node.Training = training;
        node.SaveMean = saveMean;
        node.SaveInvStd = saveInvStd;
        node.RunningMean = runningMean;
        node.RunningVar = runningVar;
        node.Eps = eps;
        (node.N, node.C, node.L) = (n, c, l);
        return tape.Record(node, y);
    }

    private sealed class BatchNormNode : Node
    {
        public Variable X = null!;
        public Variable? W, B;
        public bool Training;
        public Tensor? SaveMean, SaveInvStd, RunningMean, RunningVar;
        public float Eps;
        public int N, C, L;

        internal override void Backward(Tape tape)
        {
            var gx = tape.GradientFor(X);
            var gw = W is null ? null : tape.GradientFor(W);
            var gb = B is null ? null : tape.GradientFor(B);
            var dx = DxBuffer(tape, gx, X);
            var dw = SpanOf(gw);
            var db = SpanOf(gb);
            if (Training)
                BatchNormKernels.BackwardTraining(Output.Grad!.Span, X.Value.Span, SpanOf(W), SaveMean!.Span, SaveInvStd!.Span, dx.Span, dw, db, N, C, L);
            else
                BatchNormKernels.BackwardInference(Output.Grad!.Span, X.Value.Span, SpanOf(W), RunningMean!.Span, RunningVar!.Span, dx.Span, dw, db, N, C, L, Eps);
            gx?.Commit();
            gw?.Commit();
            gb?.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
            W = B = null;
            SaveMean = SaveInvStd = RunningMean = RunningVar = null;
        }
    }
}
