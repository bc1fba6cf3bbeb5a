using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Softmax cross-entropy as one fused, numerically stable node: the mean over rows of
    /// −log softmax(<paramref name="logits"/>)[label]. <paramref name="logits"/> is [rows, classes];
    /// <paramref name="labels"/> holds one class index per row.
    /// </summary>
    public static Variable CrossEntropy(Variable logits, ReadOnlySpan<int> labels)
    {
        Tape.CheckAlive(logits, "CrossEntropy");
        if (logits.Value.Rank != 2)
            throw new ShapeMismatchException($"CrossEntropy: logits must be [rows, classes], got {ShapeMismatchException.Format(logits.Shape)}.");
        int rows = logits.Value.Dim(0), classes = logits.Value.Dim(1);
        if (labels.Length != rows)
            throw new ShapeMismatchException($"CrossEntropy: {labels.Length} labels for {rows} rows of logits.");
        var tape = Tape.Current;
        var loss = tape.Allocate(ReadOnlySpan<int>.Empty);
        bool record = Tape.NeedsGrad(logits);
        var probs = record ? tape.Allocate(rows, classes) : Tensor.Zeros(rows, classes);
        loss[0] = LossKernels.CrossEntropyForward(logits.Value.Span, labels, probs.Span, rows, classes);
        if (!record) return tape.Wrap(loss);
        var node = tape.RentNode<CrossEntropyNode>();
        node.Logits = logits;
        node.Probabilities = probs;
        if (node.Labels.Length < rows) node.Labels = new int[rows];
        labels.CopyTo(node.Labels);
        node.Rows = rows;
        node.Classes = classes;
        return tape.Record(node, loss);
    }

    /// <summary>Mean squared error between <paramref name="prediction"/> and the constant <paramref name="target"/> (same shape).</summary>
    public static Variable Mse(Variable prediction, Tensor target)
    {
        Tape.CheckAlive(prediction, "Mse");
        if (!prediction.Shape.SequenceEqual(target.Shape))
            throw new ShapeMismatchException($"Mse: prediction {ShapeMismatchException.Format(prediction.Shape)} and target {ShapeMismatchException.Format(target.Shape)} differ.");
        var tape = Tape.Current;
        var loss = tape.Allocate(ReadOnlySpan<int>.Empty);
        loss[0] = LossKernels.MseForward(prediction.Value.Span, target.Span);
        if (!Tape.NeedsGrad(prediction)) return tape.Wrap(loss);
        var node = tape.RentNode<MseNode>();
        node.Prediction = prediction;
        node.Target = target;
        node.TargetVersion = target.Version;
        return tape.Record(node, loss);
    }

    private sealed class CrossEntropyNode : Node
    {
        public Variable Logits = null!;
        public Tensor Probabilities = null!;
        public int[] Labels = [];
        public int Rows, Classes;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(Logits) is not { } g) return;
            LossKernels.CrossEntropyBackward(Probabilities.Span, Labels.AsSpan(0, Rows), Output.Grad![0], g.Buffer.Span, Rows, Classes);
            g.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            Logits = null!;
            Probabilities = null!;
        }
    }

    private sealed class MseNode : Node
    {
        public Variable Prediction = null!;
        public Tensor Target = null!;
        public int TargetVersion;

        internal override void Backward(Tape tape)
        {
            if (Target.Version != TargetVersion)
                throw new StaleVariableException($"Mse: the target {ShapeMismatchException.Format(Target.Shape)} was overwritten in place (a data loader refilling its buffer?) between the forward pass and the backward pass; finish the backward pass before fetching the next batch.");
            if (tape.GradientFor(Prediction) is not { } g) return;
            LossKernels.MseBackward(Prediction.Value.Span, Target.Span, Output.Grad![0], g.Buffer.Span);
            g.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            Prediction = null!;
            Target = null!;
        }
    }
}
