using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// A tensor in the autograd graph: its value, its gradient once backward has reached it, and the
/// operation that produced it. Leaves made with <see cref="Parameter"/> keep their gradient between steps
/// (accumulating, as in PyTorch, until <see cref="ZeroGrad"/>); intermediate results live in their
/// <see cref="Tape"/>'s memory and are recycled when the next step starts recording.
/// </summary>
public sealed partial class Variable
{
    private Tensor _value;

    internal Variable(Tensor value, bool requiresGrad, Tape? tape, int generation)
    {
        _value = value;
        RequiresGrad = requiresGrad;
        Tape = tape;
        Generation = generation;
    }

    /// <summary>A constant input: no gradient is computed for it.</summary>
    public static Variable Constant(Tensor value) => new(value, requiresGrad: false, tape: null, generation: 0);

    /// <summary>A trainable leaf whose gradient is kept in <see cref="Grad"/> (allocated once, reused every step).</summary>
    public static Variable Parameter(Tensor value, string? name = null)
    {
        var v = new Variable(value, requiresGrad: true, tape: null, generation: 0) { Name = name };
        v.Grad = Tensor.Zeros(value.Shape);
        return v;
    }

    /// <summary>The value.</summary>
    public Tensor Value => _value;

    /// <summary>The gradient of the last backward pass with respect to this variable, or null if none reached it.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>True once a backward pass wrote <see cref="Grad"/> since the last <see cref="ZeroGrad"/>.</summary>
    public bool HasGrad { get; internal set; }

    /// <summary>Whether gradients flow to this variable.</summary>
    public bool RequiresGrad { get; }

    /// <summary>An optional name (parameters carry PyTorch-style names such as <c>layers.0.weight</c>).</summary>
    public string? Name { get; set; }

    /// <summary>The shape of the value.</summary>
    public ReadOnlySpan<int> Shape => _value.Shape;

    /// <summary>The tape that recorded this variable, null for leaves and inference results.</summary>
    internal Tape? Tape { get; }

    /// <summary>The tape generation in which this variable was produced; a later step invalidates it.</summary>
    internal int Generation { get; set; }

    /// <summary>The operation that produced this variable, null for leaves.</summary>
    internal Node? Creator { get; set; }

    /// <summary>True for variables made by the user rather than by an operation.</summary>
    public bool IsLeaf => Creator is null;

    /// <summary>The value of a one-element variable.</summary>
    public float Item()
    {
        if (_value.Length != 1)
            throw new ShapeMismatchException($"Item: the variable has shape {ShapeMismatchException.Format(_value.Shape)}, not a single element.");
        return _value[0];
    }

    /// <summary>Forgets the gradient; the next backward pass overwrites rather than adds.</summary>
    public void ZeroGrad()
    {
        HasGrad = false;
        Grad?.Span.Clear();
    }

    /// <summary>Backpropagates from this one-element variable (usually the loss) to every variable that requires a gradient.</summary>
    public void Backward()
    {
        if (_value.Length != 1)
            throw new ShapeMismatchException($"Backward: the loss must hold a single element, got shape {ShapeMismatchException.Format(_value.Shape)}.");
        if (Tape is null || Creator is null)
            throw new NormSharpException("Backward: this variable was not produced by a recorded operation (is it a leaf, or was it computed under GradMode.NoGrad?).");
        Tape.Backward(this);
    }

    /// <summary>Swaps in another value of the same shape (used when parameters are loaded).</summary>
    internal void ReplaceValue(Tensor value) => _value = value;

    /// <inheritdoc />
    public override string ToString() => $"Variable{(Name is null ? "" : " " + Name)}{ShapeMismatchException.Format(_value.Shape)}";
}
