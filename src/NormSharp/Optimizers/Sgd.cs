using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Optimizers;

/// <summary>Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, with PyTorch's semantics.</summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor?[] _momentum;
    private readonly bool[] _started;

    /// <summary>Momentum factor (0 = plain SGD).</summary>
    public float Momentum { get; }

    /// <summary>Dampening of the momentum.</summary>
    public float Dampening { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>Creates the optimizer over one group of <paramref name="parameters"/>.</summary>
    public Sgd(IEnumerable<Variable> parameters, double lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : this(OneGroup(parameters), lr, momentum, dampening, weightDecay, nesterov) { }

    /// <summary>Creates the optimizer over parameter groups; <paramref name="lr"/> and <paramref name="weightDecay"/> (an L2 penalty added to the gradient) are the defaults of groups that set none.</summary>
    public Sgd(IEnumerable<ParameterGroup> groups, double lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(groups, lr, weightDecay)
    {
        if (!(momentum >= 0f)) throw new InvalidValueException(nameof(momentum), $"Sgd: momentum must be >= 0, got {momentum}.");
        if (nesterov && (momentum <= 0f || dampening != 0f))
            throw new InvalidValueException(nameof(nesterov), "Sgd: Nesterov momentum requires a positive momentum and zero dampening.");
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        _momentum = Parameters.Select(p => momentum > 0f ? Tensor.Zeros(p.Value.Shape) : null).ToArray();
        _started = new bool[Parameters.Count];
    }

    /// <inheritdoc />
    protected override void Update(int index, ParameterGroup group, Span<float> parameter, ReadOnlySpan<float> gradient)
    {
        var buffer = _momentum[index];
        OptimizerKernels.SgdStep(parameter, gradient, buffer is null ? Span<float>.Empty : buffer.Span,
            (float)group.LearningRate, Momentum, Dampening, (float)group.WeightDecay, Nesterov, firstStep: !_started[index]);
        _started[index] = true;
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Tensor)> StateTensors()
    {
        for (int i = 0; i < _momentum.Length; i++)
            if (_momentum[i] is { } m) yield return ($"state.{i}.momentum_buffer", m);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, long> StateScalars()
    {
        var d = new Dictionary<string, long>(base.StateScalars());
        for (int i = 0; i < _started.Length; i++) d[$"state.{i}.started"] = _started[i] ? 1 : 0;
        return d;
    }

    /// <inheritdoc />
    public override void LoadStateScalars(IReadOnlyDictionary<string, long> scalars)
    {
        base.LoadStateScalars(scalars);
        for (int i = 0; i < _started.Length; i++) _started[i] = scalars.TryGetValue($"state.{i}.started", out long s) && s != 0;
    }
}
