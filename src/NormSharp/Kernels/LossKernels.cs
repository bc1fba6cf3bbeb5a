using System.Numerics.Tensors;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>Loss functions, fused with their first derivative where that saves a pass; the same bits at every vector width.</summary>
public static class LossKernels
{
    /// <summary>
    /// Mean over rows of −log softmax(logits[r])[labels[r]], computed as logsumexp − logit (stable for any
    /// magnitude). Writes the softmax probabilities for the backward.
    /// </summary>
    public static float CrossEntropyForward(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> probabilities, int rows, int classes)
    {
        CheckCrossEntropy(logits.Length, labels, probabilities.Length, rows, classes);
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            var lr = logits.Slice(r * classes, classes);
            total += SoftmaxKernels.SoftmaxRow(lr, probabilities.Slice(r * classes, classes)) - lr[labels[r]];
        }
        return rows == 0 ? 0f : (float)(total / rows);
    }

    /// <summary>
    /// dlogits = upstream·(p − onehot(label))/rows, with subnormal results flushed to zero: a confident network's
    /// wrong-class probabilities reach 1e-38 and below, and one subnormal here makes every product of the backward
    /// pass that touches it take a microcode assist on x86 (a plain network's batch-4 steps slowed by up to 1.5×).
    /// The flush is the same on every instruction set, and what it drops is below 1.2e-38.
    /// </summary>
    public static void CrossEntropyBackward(ReadOnlySpan<float> probabilities, ReadOnlySpan<int> labels, float upstream, Span<float> dlogits, int rows, int classes)
    {
        CheckCrossEntropy(dlogits.Length, labels, probabilities.Length, rows, classes);
        float scale = rows == 0 ? 0f : upstream / rows;
        ElementwiseKernels.Scale(probabilities, scale, dlogits);
        for (int r = 0; r < rows; r++) dlogits[r * classes + labels[r]] -= scale;
        var d = dlogits[..(rows * classes)];
        for (int i = 0; i < d.Length; i++)
            if (float.IsSubnormal(d[i])) d[i] = 0f;
    }

    /// <summary>Rows whose largest logit is at the label (ties go to the first index).</summary>
    public static int CountCorrect(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int rows, int classes)
    {
        if (logits.Length != (long)rows * classes || labels.Length != rows)
            throw new ShapeMismatchException($"CountCorrect: {logits.Length} logits and {labels.Length} labels for [{rows}, {classes}].");
        int correct = 0;
        for (int r = 0; r < rows; r++)
            if (TensorPrimitives.IndexOfMax(logits.Slice(r * classes, classes)) == labels[r]) correct++;
        return correct;
    }

    /// <summary>Mean of (prediction − target)², summed in the fixed order of <see cref="Simd.LaneSums"/>.</summary>
    public static float MseForward(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target)
    {
        if (prediction.Length != target.Length)
            throw new ShapeMismatchException($"Mse: prediction has {prediction.Length} elements, target {target.Length}.");
        if (prediction.IsEmpty) return 0f;
        return (float)(ElementwiseKernels.SquaredDistance(prediction, target) / prediction.Length);
    }

    /// <summary>dprediction = upstream·2(prediction − target)/n.</summary>
    public static void MseBackward(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, float upstream, Span<float> dprediction)
    {
        if (prediction.Length != target.Length || dprediction.Length != prediction.Length)
            throw new ShapeMismatchException($"MseBackward: prediction {prediction.Length}, target {target.Length} and gradient {dprediction.Length} elements differ.");
        if (prediction.IsEmpty) return;
        ElementwiseKernels.Sub(prediction, target, dprediction);
        ElementwiseKernels.Scale(dprediction, 2f * upstream / prediction.Length, dprediction);
    }

    private static void CheckCrossEntropy(int logitsLength, ReadOnlySpan<int> labels, int probsLength, int rows, int classes)
    {
        if (rows < 0 || classes <= 0 || logitsLength != (long)rows * classes || probsLength != logitsLength)
            throw new ShapeMismatchException($"CrossEntropy: buffers of {logitsLength} and {probsLength} elements do not hold [{rows}, {classes}].");
        if (labels.Length != rows)
            throw new ShapeMismatchException($"CrossEntropy: {labels.Length} labels for {rows} rows.");
        for (int r = 0; r < rows; r++)
            if ((uint)labels[r] >= (uint)classes)
                throw new InvalidValueException("labels", $"CrossEntropy: label {labels[r]} of row {r} is outside [0, {classes}).");
    }
}
