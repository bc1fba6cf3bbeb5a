using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Optimizers;

/// <summary>
/// Updates parameters from their gradients, organized in <see cref="ParameterGroup"/>s that may each
/// have their own learning rate and weight decay. Parameters that received no gradient in the last
/// backward pass are left alone (PyTorch skips parameters whose grad is None).
/// </summary>
public abstract class Optimizer
{
    private readonly ParameterGroup[] _groupOf;

    /// <summary>The parameter groups, in the order given.</summary>
    public IReadOnlyList<ParameterGroup> Groups { get; }

    /// <summary>Every parameter, group after group, in a fixed order (the index of its state in checkpoints).</summary>
    public IReadOnlyList<Variable> Parameters { get; }

    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Creates the optimizer over <paramref name="groups"/>, filling unset group settings with the defaults.</summary>
    protected Optimizer(IEnumerable<ParameterGroup> groups, double defaultLearningRate, double defaultWeightDecay)
    {
        ArgumentNullException.ThrowIfNull(groups);
        string name = GetType().Name;
        if (!(defaultLearningRate >= 0) || double.IsInfinity(defaultLearningRate))
            throw new InvalidValueException("lr", $"{name}: the learning rate must be a non-negative finite number, got {defaultLearningRate}.");
        if (!(defaultWeightDecay >= 0) || double.IsInfinity(defaultWeightDecay))
            throw new InvalidValueException("weightDecay", $"{name}: weight decay must be a non-negative finite number, got {defaultWeightDecay}.");
        Groups = groups.ToArray();
        var all = new List<Variable>();
        var groupOf = new List<ParameterGroup>();
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var g in Groups)
        {
            g.Bind(this, defaultLearningRate, defaultWeightDecay);
            foreach (var p in g.Parameters)
            {
                if (!p.RequiresGrad || p.Grad is null)
                    throw new InvalidValueException("parameters", $"{name}: {p} is not a trainable parameter (make it with Variable.Parameter).");
                // A parameter listed twice would be stepped twice per step (PyTorch refuses this too).
                if (!seen.Add(p))
                    throw new InvalidValueException("parameters", $"{name}: {p} appears more than once among the parameters (tied weights must be passed once).");
                all.Add(p);
                groupOf.Add(g);
            }
        }
        if (all.Count == 0)
            throw new InvalidValueException("parameters", $"{name}: no parameters to optimize; pass model.Parameters() (an empty list would train nothing).");
        Parameters = all;
        _groupOf = groupOf.ToArray();
    }

    /// <summary>Wraps a flat parameter list as one group.</summary>
    protected static ParameterGroup[] OneGroup(IEnumerable<Variable> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return [new ParameterGroup(parameters)];
    }

    /// <summary>The group that parameter <paramref name="index"/> belongs to.</summary>
    public ParameterGroup GroupOf(int index) => _groupOf[index];

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
            if (p.HasGrad) Update(i, _groupOf[i], p.Value.Span, p.Grad!.Span);
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> (of <paramref name="group"/>) in place from its gradient.</summary>
    protected abstract void Update(int index, ParameterGroup group, Span<float> parameter, ReadOnlySpan<float> gradient);

    /// <summary>The optimizer's per-parameter state tensors by name (e.g. <c>state.3.exp_avg</c>), for checkpoints.</summary>
    public abstract IEnumerable<(string Name, Tensor Tensor)> StateTensors();

    /// <summary>Scalar state to save with the tensors (the step count and any per-parameter step flags).</summary>
    public virtual IReadOnlyDictionary<string, long> StateScalars() => new Dictionary<string, long> { ["step"] = StepCount };

    /// <summary>Restores scalar state saved by <see cref="StateScalars"/>.</summary>
    public virtual void LoadStateScalars(IReadOnlyDictionary<string, long> scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        if (scalars.TryGetValue("step", out long s)) StepCount = s;
    }
}
