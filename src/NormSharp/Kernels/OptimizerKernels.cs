using System.Runtime.Intrinsics;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>Fused, vectorized in-place parameter updates with PyTorch's semantics.</summary>
public static class OptimizerKernels
{
    /// <summary>
    /// One SGD step: g = grad + wd·p; with momentum, buf = g on the first step, else momentum·buf + (1 − dampening)·g,
    /// and g = buf (or g + momentum·buf with Nesterov); p −= lr·g. An empty momentum buffer means no momentum.
    /// </summary>
    public static void SgdStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer, float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep)
    {
        if (grad.Length != param.Length || (!momentumBuffer.IsEmpty && momentumBuffer.Length != param.Length))
            throw new ShapeMismatchException($"SgdStep: parameter {param.Length}, gradient {grad.Length} and momentum buffer {momentumBuffer.Length} elements differ.");
        bool useMomentum = momentum != 0f && !momentumBuffer.IsEmpty;
        for (int i = 0; i < param.Length; i++)
        {
            float g = grad[i] + weightDecay * param[i];
            if (useMomentum)
            {
                float b = firstStep ? g : momentum * momentumBuffer[i] + (1f - dampening) * g;
                momentumBuffer[i] = b;
                g = nesterov ? g + momentum * b : b;
            }
            param[i] -= lr * g;
        }
    }

    /// <summary>
    /// One Adam/AdamW step at 1-based <paramref name="step"/>: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²,
    /// p −= (lr/bc1)·m/(sqrt(v)/sqrt(bc2) + eps), with bc = 1 − βᵗ. Adam adds wd·p to g; AdamW
    /// (<paramref name="decoupledWeightDecay"/>) multiplies p by 1 − lr·wd first.
    /// </summary>
    public static void AdamStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, float lr, float beta1, float beta2, float eps, float weightDecay, bool decoupledWeightDecay, long step)
    {
        if (grad.Length != param.Length || m.Length != param.Length || v.Length != param.Length)
            throw new ShapeMismatchException($"AdamStep: parameter {param.Length}, gradient {grad.Length}, m {m.Length} and v {v.Length} elements differ.");
        if (step < 1) throw new InvalidValueException(nameof(step), $"AdamStep: step is 1-based, got {step}.");
        double bc1 = 1 - Math.Pow(beta1, step);
        double bc2 = 1 - Math.Pow(beta2, step);
        float stepSize = (float)(lr / bc1);
        float invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
        float decay = decoupledWeightDecay ? 1f - lr * weightDecay : 1f;
        float l2 = decoupledWeightDecay ? 0f : weightDecay;
        float oneMinusB1 = 1f - beta1, oneMinusB2 = 1f - beta2;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vb1 = Vector256.Create(beta1);
            var vb2 = Vector256.Create(beta2);
            var v1b1 = Vector256.Create(oneMinusB1);
            var v1b2 = Vector256.Create(oneMinusB2);
            var vStep = Vector256.Create(stepSize);
            var vInv = Vector256.Create(invSqrtBc2);
            var vEps = Vector256.Create(eps);
            var vDecay = Vector256.Create(decay);
            var vL2 = Vector256.Create(l2);
            for (; i <= param.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var p = Vector256.Create(param.Slice(i)) * vDecay;
                var g = Vector256.FusedMultiplyAdd(vL2, Vector256.Create(param.Slice(i)), Vector256.Create(grad.Slice(i)));
                var mv = Vector256.FusedMultiplyAdd(vb1, Vector256.Create(m.Slice(i)), v1b1 * g);
                var vv = Vector256.FusedMultiplyAdd(vb2, Vector256.Create(v.Slice(i)), v1b2 * g * g);
                mv.CopyTo(m.Slice(i));
                vv.CopyTo(v.Slice(i));
                var denom = Vector256.FusedMultiplyAdd(Vector256.Sqrt(vv), vInv, vEps);
                (p - vStep * mv / denom).CopyTo(param.Slice(i));
            }
        }
        for (; i < param.Length; i++)
        {
            float g = grad[i] + l2 * param[i];
            float p = param[i] * decay;
            float mi = beta1 * m[i] + oneMinusB1 * g;
            float vi = beta2 * v[i] + oneMinusB2 * g * g;
            m[i] = mi;
            v[i] = vi;
            param[i] = p - stepSize * mi / (MathF.Sqrt(vi) * invSqrtBc2 + eps);
        }
    }
}
