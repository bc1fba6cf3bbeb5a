using NormSharp.Autograd;

namespace NormSharp.Training;

/// <summary>
/// A part that wants each parameter's gradient as soon as it is final in a step (data-parallel training
/// starts communicating a layer's gradient while the backward pass is still computing earlier layers).
/// During the trainer's backward pass (through <see cref="Autograd.Variable.RegisterPostAccumulateGradHook"/>)
/// it is called once per parameter that received a gradient, the output layer's first, all before
/// <see cref="ITrainerCallback.OnBackward"/>; parameters without a gradient this step are not reported.
/// </summary>
public interface IGradientReadyCallback
{
    /// <summary><paramref name="parameter"/>'s gradient for this step is final.</summary>
    void OnGradientReady(StepContext step, Variable parameter);
}
