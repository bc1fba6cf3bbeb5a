using System.Runtime.CompilerServices;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels;

/// <summary>
/// Fused, vectorized in-place parameter updates with PyTorch's semantics, written once for every vector width and
/// split over the worker pool for large tensors (each element's update is independent, so the split cannot change
/// the result).
/// <para>
/// Every value an update stores (parameter, moments, momentum buffer) is flushed to zero when it falls below the
/// smallest normal float (|x| &lt; 2⁻¹²⁶). A state that decays geometrically while its gradient stays zero (Adam's
/// m ← β1·m for a dead unit) otherwise drifts into the subnormal range, where every arithmetic operation on x86 takes
/// a microcode assist of ~100 cycles and a training step slows several-fold. .NET has no flush-to-zero switch, so
/// the kernels do it themselves, with one compare and select per stored value, the same on every instruction set.
/// NaN and infinities are kept.
/// </para>
/// </summary>
public static unsafe class OptimizerKernels
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
        fixed (float* p = param, g = grad, b = momentumBuffer)
        {
            var work = new SgdWork
            {
                P = p, G = g, Buffer = useMomentum ? b : null, N = param.Length,
                Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov, First = firstStep,
            };
            Widths.Dispatch(ref work);
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
        // βᵗ by repeated squaring, not the platform's pow, so the bias corrections are the same bits everywhere.
        double bc1 = 1 - ScalarMath.PowInt(beta1, step);
        double bc2 = 1 - ScalarMath.PowInt(beta2, step);
        fixed (float* p = param, g = grad, pm = m, pv = v)
        {
            var work = new AdamWork
            {
                P = p, G = g, M = pm, V = pv, N = param.Length,
                StepSize = (float)(lr / bc1), InvSqrtBc2 = (float)(1 / Math.Sqrt(bc2)),
                Decay = decoupledWeightDecay ? 1f - lr * weightDecay : 1f, L2 = decoupledWeightDecay ? 0f : weightDecay,
                Beta1 = beta1, Beta2 = beta2, Eps = eps,
            };
            Widths.Dispatch(ref work);
        }
    }

    /// <summary>The smallest normal float, 2⁻¹²⁶.</summary>
    internal const float SmallestNormal = 1.17549435E-38f;

    /// <summary>x, or 0 where |x| is below the smallest normal float (NaN and ±∞ pass).</summary>
    internal static TV FlushSubnormal<TV>(TV x) where TV : unmanaged, IFloatVector<TV> =>
        TV.Select(TV.LessThan(TV.Abs(x), TV.Create(SmallestNormal)), TV.Zero, x);

    private struct SgdWork : IWidthGeneric
    {
        public float* P, G, Buffer;
        public int N;
        public float Lr, Momentum, Dampening, WeightDecay;
        public bool Nesterov, First;

        public readonly void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            if (Buffer != null) Run<TV, Yes>();
            else Run<TV, No>();
        }

        private readonly void Run<TV, TMomentum>() where TV : unmanaged, IFloatVector<TV> where TMomentum : struct, IFlag
        {
            var op = new SgdUpdate<TV, TMomentum>
            {
                Lr = TV.Create(-Lr), Momentum = TV.Create(Momentum), OneMinusDampening = TV.Create(1f - Dampening),
                WeightDecay = TV.Create(WeightDecay), Decays = WeightDecay != 0f, Nesterov = Nesterov, First = First,
            };
            Elementwise.RunParallel<TV, SgdUpdate<TV, TMomentum>>(ref op, P, G, Buffer, null, N);
        }
    }

    /// <summary>Streams: 0 the parameter, 1 the gradient, 2 the momentum buffer (read and written only with momentum).</summary>
    private struct SgdUpdate<TV, TMomentum> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV> where TMomentum : struct, IFlag
    {
        public TV Lr, Momentum, OneMinusDampening, WeightDecay;
        public bool Decays, Nesterov, First;

        public static int Reads => TMomentum.Value ? 0b0111 : 0b0011;
        public static int Writes => TMomentum.Value ? 0b0101 : 0b0001;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV p, ref TV grad, ref TV buffer, ref TV unused)
        {
            // Without weight decay the parameter does not enter the gradient at all (PyTorch skips the term, so an
            // infinite parameter does not turn the gradient into NaN through 0·∞).
            var g = Decays ? TV.Fma(WeightDecay, p, grad) : grad;
            if (TMomentum.Value)
            {
                var b = First ? g : TV.Fma(Momentum, buffer, OneMinusDampening * g);
                buffer = FlushSubnormal(b);
                g = Nesterov ? TV.Fma(Momentum, buffer, g) : buffer;
            }
            p = FlushSubnormal(TV.Fma(Lr, g, p));
        }
    }

    private struct AdamWork : IWidthGeneric
    {
        public float* P, G, M, V;
        public int N;
        public float StepSize, InvSqrtBc2, Decay, L2, Beta1, Beta2, Eps;

        public readonly void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            var op = new AdamUpdate<TV>
            {
                StepSize = TV.Create(StepSize), InvSqrtBc2 = TV.Create(InvSqrtBc2), Decay = TV.Create(Decay), L2 = TV.Create(L2),
                Beta1 = TV.Create(Beta1), Beta2 = TV.Create(Beta2), OneMinusBeta1 = TV.Create(1f - Beta1), OneMinusBeta2 = TV.Create(1f - Beta2),
                Eps = TV.Create(Eps), L2Decays = L2 != 0f, Decoupled = Decay != 1f,
            };
            Elementwise.RunParallel<TV, AdamUpdate<TV>>(ref op, P, G, M, V, N);
        }
    }

    /// <summary>Streams: 0 the parameter, 1 the gradient, 2 the first moment, 3 the second moment.</summary>
    private struct AdamUpdate<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public TV StepSize, InvSqrtBc2, Decay, L2, Beta1, Beta2, OneMinusBeta1, OneMinusBeta2, Eps;
        public bool L2Decays, Decoupled;

        public static int Reads => 0b1111;
        public static int Writes => 0b1101;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV p, ref TV grad, ref TV m, ref TV v)
        {
            var g = L2Decays ? TV.Fma(L2, p, grad) : grad;
            m = FlushSubnormal(TV.Fma(Beta1, m, OneMinusBeta1 * g));
            v = FlushSubnormal(TV.Fma(Beta2, v, OneMinusBeta2 * g * g));
            var denom = TV.Fma(TV.Sqrt(v), InvSqrtBc2, Eps);
            p = FlushSubnormal((Decoupled ? p * Decay : p) - StepSize * m / denom);
        }
    }
}
