using NormSharp.Autograd;
using NormSharp.Errors;

namespace NormSharp.Optimizers;

/// <summary>
/// A set of parameters that share optimizer settings, as PyTorch's <c>param_groups</c>: each group may set
/// its own learning rate and weight decay (e.g. no decay on normalization gains and biases); settings it
/// leaves unset take the optimizer's defaults when the optimizer is built.
/// </summary>
public sealed class ParameterGroup
{
    private readonly double? _requestedLearningRate;
    private readonly double? _requestedWeightDecay;
    private object? _owner;

    /// <summary>Creates a group; <paramref name="learningRate"/> and <paramref name="weightDecay"/> override the optimizer's defaults when given.</summary>
    public ParameterGroup(IEnumerable<Variable> parameters, double? learningRate = null, double? weightDecay = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
        if (learningRate is { } lr && (!(lr >= 0) || double.IsInfinity(lr)))
            throw new InvalidValueException(nameof(learningRate), $"ParameterGroup{Label(name)}: the learning rate must be a non-negative finite number, got {lr}.");
        if (weightDecay is { } wd && (!(wd >= 0) || double.IsInfinity(wd)))
            throw new InvalidValueException(nameof(weightDecay), $"ParameterGroup{Label(name)}: weight decay must be a non-negative finite number, got {wd}.");
        _requestedLearningRate = learningRate;
        _requestedWeightDecay = weightDecay;
        Name = name;
    }

    /// <summary>An optional name, used in messages.</summary>
    public string? Name { get; }

    /// <summary>The group's parameters.</summary>
    public IReadOnlyList<Variable> Parameters { get; }

    /// <summary>The learning rate the next step uses (schedules change it; PyTorch's <c>group["lr"]</c>).</summary>
    public double LearningRate
    {
        get;
        set
        {
            if (!(value >= 0) || double.IsInfinity(value))
                throw new InvalidValueException(nameof(LearningRate), $"ParameterGroup{Label(Name)}: the learning rate must be a non-negative finite number, got {value}.");
            field = value;
        }
    }

    /// <summary>The learning rate the group started with, the base a schedule scales (PyTorch's <c>initial_lr</c>).</summary>
    public double InitialLearningRate { get; private set; }

    /// <summary>Weight decay of this group (L2 for SGD and Adam, decoupled for AdamW).</summary>
    public double WeightDecay { get; private set; }

    /// <summary>Fills unset settings from the optimizer's defaults; a group belongs to one optimizer.</summary>
    internal void Bind(object optimizer, double defaultLearningRate, double defaultWeightDecay)
    {
        if (_owner is not null && !ReferenceEquals(_owner, optimizer))
            throw new InvalidValueException("groups", $"ParameterGroup{Label(Name)} already belongs to another optimizer; create a new group for each optimizer.");
        _owner = optimizer;
        InitialLearningRate = _requestedLearningRate ?? defaultLearningRate;
        LearningRate = InitialLearningRate;
        WeightDecay = _requestedWeightDecay ?? defaultWeightDecay;
    }

    private static string Label(string? name) => name is null ? "" : $" '{name}'";

    /// <inheritdoc />
    public override string ToString() => $"ParameterGroup{Label(Name)}({Parameters.Count} parameters, lr {LearningRate}, weight decay {WeightDecay})";
}
