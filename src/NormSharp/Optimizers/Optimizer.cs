using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Optimizers;

/// <summary>
/// Updates a fixed list of parameters from their gradients. Parameters that received no gradient in
/// the last backward pass are left alone (PyTorch skips parameters whose grad is None).
/// </summary>
public abstract class Optimizer
{
    /// <summary>The parameters, in a fixed order (the order of their state in checkpoints).</summary>
    public IReadOnlyList<Variable> Parameters { get; }

    /// <summary>The learning rate the next <see cref="Step"/> uses; schedules set it each step.</summary>
    public double LearningRate { get; set; }

    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    protected Optimizer(IEnumerable<Variable> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
        foreach (var p in Parameters)
            if (!p.RequiresGrad || p.Grad is null)
                throw new Errors.InvalidValueException(nameof(parameters), $"Optimizer: {p} is not a trainable parameter.");
        if (!(learningRate >= 0) || double.IsInfinity(learningRate))
            throw new Errors.InvalidValueException("lr", $"Optimizer: the learning rate must be a non-negative finite number, got {learningRate}.");
        LearningRate = learningRate;
    }

    /// <summary>Forgets every parameter's gradient before the next backward pass.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.HasGrad) Update(i, p.Value.Span, p.Grad!.Span);
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> in place from its gradient.</summary>
    protected abstract void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient);

    /// <summary>The optimizer's per-parameter state tensors by name (e.g. <c>state.3.exp_avg</c>), for checkpoints.</summary>
    public abstract IEnumerable<(string Name, Tensor Tensor)> StateTensors();

    /// <summary>Scalar state to save with the tensors (the step count and any per-parameter step flags).</summary>
    public virtual IReadOnlyDictionary<string, long> StateScalars() => new Dictionary<string, long> { ["step"] = StepCount };

    /// <summary>Restores scalar state saved by <see cref="StateScalars"/>.</summary>
    public virtual void LoadStateScalars(IReadOnlyDictionary<string, long> scalars)
    {
        if (scalars.TryGetValue("step", out long s)) StepCount = s;
    }
}
