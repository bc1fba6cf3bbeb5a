using NormSharp.Autograd;
using NormSharp.Kernels;

namespace NormSharp.Optimizers;

/// <summary>Global-norm gradient clipping (PyTorch's <c>clip_grad_norm_</c>).</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all gradients together (parameters without a gradient count as zero).</summary>
    public static double GlobalNorm(IEnumerable<Variable> parameters)
    {
        double s = 0;
        foreach (var p in parameters)
            if (p.HasGrad) s += ElementwiseKernels.SumSquares(p.Grad!.Span);
        return Math.Sqrt(s);
    }

    /// <summary>
    /// Scales every gradient by min(1, <paramref name="maxNorm"/>/(norm + 1e-6)) and returns the norm
    /// measured before clipping.
    /// </summary>
    public static double ClipGlobalNorm(IReadOnlyList<Variable> parameters, double maxNorm)
    {
        double norm = GlobalNorm(parameters);
        ScaleToNorm(parameters, norm, maxNorm);
        return norm;
    }

    /// <summary>
    /// Scales every gradient by min(1, <paramref name="maxNorm"/>/(<paramref name="measuredNorm"/> + 1e-6)), for
    /// callers that already measured the global norm (the trainer does, for its metrics), so the gradients are read once.
    /// </summary>
    public static void ScaleToNorm(IReadOnlyList<Variable> parameters, double measuredNorm, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new Errors.InvalidValueException(nameof(maxNorm), $"ClipGlobalNorm: max norm must be positive, got {maxNorm}.");
        double scale = maxNorm / (measuredNorm + 1e-6);
        if (scale < 1.0)
            foreach (var p in parameters)
                if (p.HasGrad) ElementwiseKernels.Scale(p.Grad!.Span, (float)scale, p.Grad!.Span);
    }
}
