using System.Text;
using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// A layer or a network of layers: it owns parameters (and buffers such as running statistics), maps an
/// input variable to an output variable, and switches between training and evaluation behaviour.
/// </summary>
/// <remarks>
/// <para>Parts are found, not listed. Every field (or auto-property) that holds a <see cref="Module"/>, a
/// parameter (<see cref="Variable.Parameter"/>), or an array, list or string-keyed dictionary of them is a
/// part, named after the field in PyTorch's style (<c>InProj</c> or <c>_inProj</c> becomes
/// <c>in_proj</c>; list items are <c>name.0</c>, <c>name.1</c>; <see cref="StateNameAttribute"/> overrides
/// the name, <see cref="NotAPartAttribute"/> opts a field out). So a custom model cannot lose a child:
/// its parameters are trained and saved, and <see cref="Eval"/> reaches it.</para>
/// <para><see cref="RegisterModule{T}"/>, <see cref="RegisterParameter"/> and <see cref="RegisterBuffer"/>
/// name parts explicitly (and fix their order); buffers (state that is saved but not trained) are always
/// registered this way. Explicitly registered parts come first, in registration order, then the
/// discovered ones in field declaration order.</para>
/// <para>Names follow PyTorch's state-dict convention (<c>layers.0.weight</c>), so weights can be
/// exchanged with PyTorch through safetensors.</para>
/// </remarks>
public abstract class Module
{
    private readonly List<Part> _registered = new();
    private readonly Dictionary<string, int> _registeredIndex = new();

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Computes the layer's output.</summary>
    public abstract Variable Forward(Variable input);

    /// <summary>Switches this module and every descendant to training mode (<paramref name="mode"/> true, the default) or evaluation mode.</summary>
    public Module Train(bool mode = true)
    {
        foreach (var (_, m) in NamedModules()) m.IsTraining = mode;
        return this;
    }

    /// <summary>Switches this module and every descendant to evaluation mode (running statistics, dropout off).</summary>
    public Module Eval() => Train(false);

    /// <summary>Registers <paramref name="module"/> as the child <paramref name="name"/> (replacing a part of that name) and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new InvalidValueException(nameof(module), $"{GetType().Name}: a module cannot be its own child ('{name}').");
        Register(name, PartKind.Module, module);
        return module;
    }

    /// <summary>Registers <paramref name="parameter"/> (made with <see cref="Variable.Parameter"/>) as the parameter <paramref name="name"/> and returns it.</summary>
    protected Variable RegisterParameter(string name, Variable parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!parameter.IsParameter)
            throw new InvalidValueException(nameof(parameter), $"{GetType().Name}: '{name}' is not a parameter; make it with Variable.Parameter(tensor).");
        Register(name, PartKind.Parameter, parameter);
        return parameter;
    }

    /// <summary>Registers <paramref name="buffer"/> (saved in the state dict, not trained: running statistics and the like) as <paramref name="name"/> and returns it.</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Register(name, PartKind.Buffer, buffer);
        return buffer;
    }

    /// <summary>Registers <paramref name="buffer"/> as item <paramref name="index"/> of the buffer list <paramref name="name"/> (state-dict name <c>name.index</c>), e.g. per-time-step statistics.</summary>
    protected Tensor RegisterBufferItem(string name, int index, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckName(name);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Add(name + "." + index.ToString(System.Globalization.CultureInfo.InvariantCulture), PartKind.Buffer, buffer);
        return buffer;
    }

    private void Register(string name, PartKind kind, object value)
    {
        CheckName(name);
        Add(name, kind, value);
    }

    private void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.')) throw new InvalidValueException(nameof(name), $"{GetType().Name}: part name '{name}' may not contain '.' (dots separate the levels of a state-dict name).");
    }

    private void Add(string name, PartKind kind, object value)
    {
        if (_registeredIndex.TryGetValue(name, out int i))
        {
            _registered[i] = new Part(name, kind, value);
            return;
        }
        _registeredIndex.Add(name, _registered.Count);
        _registered.Add(new Part(name, kind, value));
    }

    /// <summary>This module's own parts: explicit registrations first, then the parts found in its fields.</summary>
    private List<Part> Parts()
    {
        var parts = new List<Part>(_registered);
        var explicitValues = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var p in _registered) explicitValues.Add(p.Value);
        var names = new HashSet<string>(_registeredIndex.Keys);
        foreach (var (name, value) in PartDiscovery.Find(this))
        {
            if (explicitValues.Contains(value)) continue;
            if (!names.Add(name))
                throw new InvalidValueException(name,
                    $"{GetType().Name}: a field holds a {(value is Module m ? m.GetType().Name : "parameter")} that would be the part '{name}', but another part was registered under that name. Register the field's value instead (or name it with [StateName]).");
            parts.Add(new Part(name, value is Module ? PartKind.Module : PartKind.Parameter, value));
        }
        return parts;
    }

    /// <summary>The direct children with their local names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        foreach (var p in Parts())
            if (p.Kind == PartKind.Module) yield return (p.Name, (Module)p.Value);
    }

    /// <summary>Every module in the tree, this one first, with its dotted name ("" for this one); a module reachable twice is listed once.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Module)>();
        CollectModules(prefix, seen, result);
        return result;
    }

    private void CollectModules(string name, HashSet<Module> seen, List<(string, Module)> result)
    {
        if (!seen.Add(this)) return;
        result.Add((name, this));
        foreach (var (n, c) in NamedChildren()) c.CollectModules(name.Length == 0 ? n : name + "." + n, seen, result);
    }

    /// <summary>
    /// Every parameter of this module and its descendants with its dotted name, in a stable order. A
    /// parameter shared by several parts (tied weights) is listed once, under its first name.
    /// </summary>
    public IEnumerable<(string Name, Variable Parameter)> NamedParameters(string prefix = "")
    {
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var (name, kind, value) in Entries(prefix))
            if (kind == PartKind.Parameter && seen.Add((Variable)value)) yield return (name, (Variable)value);
    }

    /// <summary>Every buffer of this module and its descendants with its dotted name.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (name, kind, value) in Entries(prefix))
            if (kind == PartKind.Buffer) yield return (name, (Tensor)value);
    }

    /// <summary>Parameters and buffers of the whole tree with their dotted names (modules reachable twice are visited once).</summary>
    private List<(string Name, PartKind Kind, object Value)> Entries(string prefix)
    {
        var result = new List<(string, PartKind, object)>();
        foreach (var (moduleName, module) in NamedModules())
        {
            string path = prefix + (moduleName.Length == 0 ? "" : moduleName + ".");
            foreach (var p in module.Parts())
                if (p.Kind != PartKind.Module) result.Add((path + p.Name, p.Kind, p.Value));
        }
        return result;
    }

    /// <summary>The parameters, in the order of <see cref="NamedParameters"/>, each once.</summary>
    public IReadOnlyList<Variable> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    /// <summary>Total number of trainable scalars (shared parameters counted once).</summary>
    public long ParameterCount() => NamedParameters().Sum(p => (long)p.Parameter.Value.Length);

    /// <summary>
    /// Parameters and buffers together, as a state dictionary to save. As in PyTorch, a parameter shared
    /// by several parts appears under each of its names.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> StateDict()
    {
        // Parameters first, then buffers (the order files are written in; names are what matter to readers).
        var parameters = new List<(string, Tensor)>();
        var buffers = new List<(string, Tensor)>();
        foreach (var (moduleName, module) in NamedModulesWithRepeats(""))
            foreach (var p in module.Parts())
            {
                string name = moduleName.Length == 0 ? p.Name : moduleName + "." + p.Name;
                if (p.Kind == PartKind.Parameter) parameters.Add((name, ((Variable)p.Value).Value));
                else if (p.Kind == PartKind.Buffer) buffers.Add((name, (Tensor)p.Value));
            }
        parameters.AddRange(buffers);
        return parameters;
    }

    /// <summary>Every path to a module (a module reachable under two names is listed under both), cycles cut.</summary>
    private List<(string Name, Module Module)> NamedModulesWithRepeats(string prefix)
    {
        var result = new List<(string, Module)>();
        var onPath = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        Walk(prefix, this);
        return result;

        void Walk(string name, Module m)
        {
            if (!onPath.Add(m)) return;
            result.Add((name, m));
            foreach (var (n, c) in m.NamedChildren()) Walk(name.Length == 0 ? n : name + "." + n, c);
            onPath.Remove(m);
        }
    }

    /// <summary>
    /// Copies <paramref name="state"/> into this module's parameters and buffers (PyTorch's
    /// <c>load_state_dict</c>). All or nothing: if any tensor has the wrong shape, or (with
    /// <paramref name="strict"/>) any key is missing or unexpected, nothing is copied and the
    /// <see cref="StateDictMismatchException"/> lists every problem. Returns the keys that were missing
    /// and unexpected (both empty under <paramref name="strict"/>).
    /// </summary>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var ownNames = new HashSet<string>(own.Select(e => e.Name));
        var missing = own.Where(e => !state.ContainsKey(e.Name)).Select(e => e.Name).ToList();
        var unexpected = state.Keys.Where(k => !ownNames.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var mismatched = new List<string>();
        foreach (var (name, t) in own)
            if (state.TryGetValue(name, out var src) && !src.Shape.SequenceEqual(t.Shape))
                mismatched.Add($"size mismatch for {name}: the state dict has shape {ShapeMismatchException.Format(src.Shape)}, this model needs {ShapeMismatchException.Format(t.Shape)}");
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(GetType().Name, missing, unexpected, mismatched);
        foreach (var (name, t) in own)
            if (state.TryGetValue(name, out var src)) t.CopyFrom(src);
        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>Copies a state dictionary given as (name, tensor) pairs; see <see cref="LoadStateDict(IReadOnlyDictionary{string, Tensor}, bool)"/>.</summary>
    public LoadStateDictResult LoadStateDict(IEnumerable<(string Name, Tensor Tensor)> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var dict = new Dictionary<string, Tensor>();
        foreach (var (name, t) in state)
            if (!dict.TryAdd(name, t)) throw new InvalidValueException(nameof(state), $"LoadStateDict: the key '{name}' appears twice.");
        return LoadStateDict(dict, strict);
    }

    /// <summary>The settings shown after the module's name when it is printed (PyTorch's <c>extra_repr</c>), e.g. <c>in_features=784, out_features=10, bias=True</c>.</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>The module tree, PyTorch-style: the type, its settings, then each child indented under its name.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Print(sb, 0, new HashSet<Module>(ReferenceEqualityComparer.Instance));
        return sb.ToString();
    }

    private void Print(StringBuilder sb, int indent, HashSet<Module> onPath)
    {
        onPath.Add(this);
        sb.Append(GetType().Name).Append('(').Append(ExtraRepr());
        var children = NamedChildren().ToList();
        if (children.Count > 0)
        {
            sb.Append('\n');
            foreach (var (name, child) in children)
            {
                sb.Append(' ', indent + 2).Append('(').Append(name).Append("): ");
                if (onPath.Contains(child)) sb.Append(child.GetType().Name).Append("(...)");
                else child.Print(sb, indent + 2, onPath);
                sb.Append('\n');
            }
            sb.Append(' ', indent);
        }
        sb.Append(')');
        onPath.Remove(this);
    }

    private enum PartKind { Module, Parameter, Buffer }

    private readonly record struct Part(string Name, PartKind Kind, object Value);
}
