using NormSharp.Optimizers;

namespace NormSharp.Training;

/// <summary>
/// Clips the global gradient norm of every step to <see cref="MaxNorm"/> (PyTorch's <c>clip_grad_norm_</c>),
/// reusing the norm the trainer measured instead of reading the gradients again. Add it after a
/// <see cref="NanGuard"/>, so a non-finite gradient is caught rather than scaled.
/// </summary>
public sealed class GradientClipper : ITrainerCallback
{
    /// <summary>Clips to <paramref name="maxNorm"/>.</summary>
    public GradientClipper(double maxNorm)
    {
        if (!(maxNorm > 0) || double.IsInfinity(maxNorm))
            throw new Errors.InvalidValueException(nameof(maxNorm), $"GradientClipper: the maximum norm must be a positive finite number, got {maxNorm}.");
        MaxNorm = maxNorm;
    }

    /// <summary>The largest global gradient norm let through.</summary>
    public double MaxNorm { get; }

    /// <inheritdoc />
    public void OnBackward(StepContext step) =>
        GradientClipping.ScaleToNorm(step.Trainer.Optimizer.Parameters, step.Gradients.Global, MaxNorm);
}
