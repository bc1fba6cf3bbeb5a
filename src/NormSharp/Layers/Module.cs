using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// A layer or a network of layers: it owns parameters (and buffers such as running statistics), maps an
/// input variable to an output variable, and switches between training and evaluation behaviour.
/// Composite modules list their children; names follow PyTorch's state-dict convention
/// (<c>layers.0.weight</c>), so weights can be exchanged with PyTorch through safetensors.
/// </summary>
public abstract class Module
{
    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Computes the layer's output.</summary>
    public abstract Variable Forward(Variable input);

    /// <summary>Switches this module and its children to training mode (batch statistics, dropout on).</summary>
    public Module Train() => SetMode(true);

    /// <summary>Switches this module and its children to evaluation mode (running statistics, dropout off).</summary>
    public Module Eval() => SetMode(false);

    private Module SetMode(bool training)
    {
        IsTraining = training;
        foreach (var (_, child) in Children()) child.SetMode(training);
        return this;
    }

    /// <summary>This module's own parameters (not its children's), by local name.</summary>
    protected virtual IEnumerable<(string Name, Variable Parameter)> OwnParameters() => [];

    /// <summary>This module's own buffers (state that is saved but not trained), by local name.</summary>
    protected virtual IEnumerable<(string Name, Tensor Buffer)> OwnBuffers() => [];

    /// <summary>The direct children, by local name.</summary>
    protected virtual IEnumerable<(string Name, Module Child)> Children() => [];

    /// <summary>Every parameter of this module and its descendants with its dotted name, in a stable order.</summary>
    public IEnumerable<(string Name, Variable Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (n, p) in OwnParameters()) yield return (prefix + n, p);
        foreach (var (n, c) in Children())
            foreach (var item in c.NamedParameters(prefix + n + ".")) yield return item;
    }

    /// <summary>Every buffer of this module and its descendants with its dotted name.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (n, b) in OwnBuffers()) yield return (prefix + n, b);
        foreach (var (n, c) in Children())
            foreach (var item in c.NamedBuffers(prefix + n + ".")) yield return item;
    }

    /// <summary>Every module in the tree, this one first, with its dotted name ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix.TrimEnd('.'), this);
        foreach (var (n, c) in Children())
            foreach (var item in c.NamedModules(prefix + n + ".")) yield return item;
    }

    /// <summary>The parameters, in the order of <see cref="NamedParameters"/>.</summary>
    public IReadOnlyList<Variable> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    /// <summary>Total number of trainable scalars.</summary>
    public long ParameterCount() => NamedParameters().Sum(p => (long)p.Parameter.Value.Length);

    /// <summary>Parameters and buffers together, as a state dictionary to save.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> StateDict() =>
        NamedParameters().Select(p => (p.Name, p.Parameter.Value)).Concat(NamedBuffers()).ToList();
}
