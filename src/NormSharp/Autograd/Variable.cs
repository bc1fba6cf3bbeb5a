using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// A tensor in the autograd graph: its value, its gradient once backward has reached it, and the
/// operation that produced it.
/// </summary>
/// <remarks>
/// <para>Every operation returns a new <see cref="Variable"/>; the tape pools the memory behind
/// intermediate results, never the objects a caller holds. An intermediate result belongs to the step
/// (the stretch of recording between two backward passes) that made it: once the next step starts, its
/// memory is reused, and every use of it (<see cref="Value"/>, <see cref="Item"/>, <see cref="Grad"/>,
/// or as an operation's input) throws a <see cref="StaleVariableException"/> naming the step.
/// <see cref="Detach"/> keeps a copy that outlives the step.</para>
/// <para>A variable made from a tensor (<see cref="Constant"/>) remembers the tensor's
/// <see cref="Tensor.Version"/> and fails loudly once the tensor is overwritten in place (for example a
/// data loader refilling its batch buffer before the backward pass that still needs the old batch).</para>
/// <para>Parameters (<see cref="Parameter"/>) keep their gradient between steps, accumulating as in
/// PyTorch until <see cref="ZeroGrad"/>.</para>
/// </remarks>
public sealed partial class Variable
{
    private Tensor _value;
    private readonly int _version;
    private readonly Segment? _segment;
    private readonly int _generation;
    private Tensor? _grad;
    private LeafState? _leaf;

    private Variable(Tensor value, bool requiresGrad, bool isParameter, Segment? segment, int generation)
    {
        _value = value;
        _version = value.Version;
        RequiresGrad = requiresGrad;
        IsParameter = isParameter;
        _segment = segment;
        _generation = generation;
    }

    /// <summary>A constant input: no gradient is computed for it. The tensor is not copied.</summary>
    public static Variable Constant(Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(value, requiresGrad: false, isParameter: false, segment: null, generation: 0);
    }

    /// <summary>A trainable leaf whose gradient is kept in <see cref="Grad"/> (allocated once, reused every step).</summary>
    public static Variable Parameter(Tensor value, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new Variable(value, requiresGrad: true, isParameter: true, segment: null, generation: 0)
        {
            _leaf = new LeafState { Name = name },
            _grad = Tensor.Zeros(value.Shape),
        };
    }

    /// <summary>An intermediate result recorded (or wrapped) by <paramref name="segment"/>'s tape in the current step.</summary>
    internal static Variable Intermediate(Tensor value, bool requiresGrad, Segment segment) =>
        new(value, requiresGrad, isParameter: false, segment, segment.Tape.Generation);

    /// <summary>The value. Throws <see cref="StaleVariableException"/> if the step that computed it has ended, or if the tensor was overwritten since.</summary>
    public Tensor Value
    {
        get
        {
            if (!IsParameter) ThrowIfUnusable("Value");
            return _value;
        }
    }

    /// <summary>The gradient of the last backward pass with respect to this variable, or null if none reached it.</summary>
    public Tensor? Grad
    {
        get
        {
            if (_segment is not null) ThrowIfUnusable("Grad");
            return _grad;
        }
        internal set => _grad = value;
    }

    /// <summary>True once a backward pass wrote <see cref="Grad"/> since the last <see cref="ZeroGrad"/>.</summary>
    public bool HasGrad { get; internal set; }

    /// <summary>Whether gradients flow to this variable.</summary>
    public bool RequiresGrad { get; }

    /// <summary>True for trainable leaves made with <see cref="Parameter"/>: their value may change in place (an optimizer step) without invalidating them.</summary>
    public bool IsParameter { get; }

    /// <summary>An optional name (parameters carry PyTorch-style names such as <c>layers.0.weight</c>).</summary>
    public string? Name
    {
        get => _leaf?.Name;
        set
        {
            if (value is null && _leaf is null) return;
            (_leaf ??= new LeafState()).Name = value;
        }
    }

    /// <summary>The shape of the value.</summary>
    public ReadOnlySpan<int> Shape => Value.Shape;

    /// <summary>The tape that recorded this variable, null for leaves, constants and inference results.</summary>
    internal Tape? Tape => _segment?.Tape;

    /// <summary>The stretch of recording this intermediate belongs to; null for leaves, constants and inference results.</summary>
    internal Segment? Segment => _segment;

    /// <summary>The tape step in which this variable was produced.</summary>
    internal int Generation => _generation;

    /// <summary>The operation that produced this variable, null for leaves.</summary>
    internal Node? Creator { get; set; }

    /// <summary>True for variables made by the user rather than by an operation.</summary>
    public bool IsLeaf => Creator is null;

    /// <summary>Hooks to run once this leaf's gradient is final in a backward pass; null when there are none.</summary>
    internal List<Action<Variable>>? PostAccumulateGradHooks => _leaf?.Hooks;

    /// <summary>Bookkeeping of leaves only (kept out of the variable so that the many intermediates stay small).</summary>
    internal LeafState? Leaf => _leaf;

    /// <summary>The value of a one-element variable.</summary>
    public float Item()
    {
        var v = Value;
        if (v.Length != 1)
            throw new ShapeMismatchException($"Item: the variable has shape {ShapeMismatchException.Format(v.Shape)}, not a single element.");
        return v[0];
    }

    /// <summary>
    /// A constant holding a copy of the value, outside any tape: it keeps its value for good and no
    /// gradient flows through it. Use it to carry a recurrent state into the next batch, or to keep a
    /// result past the step that computed it.
    /// </summary>
    public Variable Detach() => Constant(Value.Clone());

    /// <summary>Forgets the gradient; the next backward pass overwrites rather than adds.</summary>
    public void ZeroGrad()
    {
        HasGrad = false;
        Grad?.Span.Clear();
    }

    /// <summary>
    /// Backpropagates from this variable to every variable that requires a gradient (PyTorch's
    /// <c>backward</c>). A one-element variable (usually the loss) is seeded with 1; any other needs
    /// <paramref name="gradient"/>, the gradient of the final objective with respect to it. Unless
    /// <paramref name="retainGraph"/> is true the graph is freed, and a second backward pass through it
    /// is refused.
    /// </summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false)
    {
        if (gradient is null && Value.Length != 1)
            throw new ShapeMismatchException($"Backward: {this} has shape {ShapeMismatchException.Format(Value.Shape)}; only a single-element variable can start a backward pass without an explicit gradient.");
        if (gradient is not null && !gradient.Shape.SequenceEqual(Value.Shape))
            throw new ShapeMismatchException($"Backward: the gradient has shape {ShapeMismatchException.Format(gradient.Shape)}, but {this} has shape {ShapeMismatchException.Format(Value.Shape)}.");
        if (_segment is null || Creator is null)
            throw new NormSharpException($"Backward: {this} was not produced by a recorded operation (is it a leaf, a constant, or was it computed under GradMode.NoGrad, or from inputs that need no gradient?).");
        _segment.Tape.Backward(this, gradient, retainGraph);
    }

    /// <summary>
    /// Registers <paramref name="hook"/> to run during each backward pass as soon as this leaf's gradient
    /// is final, that is once no operation still to be processed can add to it (PyTorch's
    /// <c>register_post_accumulate_grad_hook</c>). Data-parallel training starts communicating a gradient
    /// from here while the rest of the backward pass runs. The hook runs on the thread of the backward
    /// pass, only for passes in which the leaf received a gradient.
    /// </summary>
    public HookHandle RegisterPostAccumulateGradHook(Action<Variable> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf || !RequiresGrad)
            throw new NormSharpException($"RegisterPostAccumulateGradHook: {this} is not a leaf that requires a gradient; gradient hooks are for parameters.");
        var leaf = _leaf ??= new LeafState();
        (leaf.Hooks ??= new()).Add(hook);
        return new HookHandle(() =>
        {
            leaf.Hooks?.Remove(hook);
            if (leaf.Hooks is { Count: 0 }) leaf.Hooks = null;
        });
    }

    /// <summary>Swaps in another value of the same shape (used when parameters are loaded).</summary>
    internal void ReplaceValue(Tensor value) => _value = value;

    /// <summary>The value without the validity check, for diagnostics that must not throw.</summary>
    internal Tensor UncheckedValue => _value;

    /// <summary>Throws when this variable may no longer be used: its step has ended, or its tensor was overwritten.</summary>
    internal void ThrowIfUnusable(string use)
    {
        if (_segment is { } s && s.Tape.Generation != _generation)
            throw new StaleVariableException(
                $"{use}: {Describe()} was computed in step {_generation} of its thread's tape, and step {s.Tape.Generation} has started since, reusing that step's memory. " +
                "Read what you need before the next forward pass (Item(), or Detach() to keep a copy), or compute it under GradMode.NoGrad().");
        if (!IsParameter && _value.Version != _version)
            throw new StaleVariableException(
                $"{use}: the tensor behind {Describe()} was overwritten in place after the variable was made from it (a data loader refilling its batch buffer, or Tensor.CopyFrom/MarkModified). " +
                "Finish the backward pass before fetching the next batch, or make the variable from a copy (Tensor.Clone()).");
    }

    private string Describe() => $"Variable{(Name is null ? "" : " " + Name)}{ShapeMismatchException.Format(_value.Shape)}";

    /// <inheritdoc />
    public override string ToString() => Describe();

    /// <summary>What only leaves need: a name, gradient hooks, and where the hooks' first use in the current step was noted.</summary>
    internal sealed class LeafState
    {
        public string? Name;
        public List<Action<Variable>>? Hooks;
        public Tape? HookTape;
        public int HookGeneration;
        public int HookFirstUseSeq;
    }
}
