using System.Globalization;
using Google.Protobuf;
using NormSharp.Tensors;
using Onnx;

namespace NormSharp.Onnx.Graph;

/// <summary>
/// Builds an ONNX graph: unique names, initializers (weights and constants), nodes with attributes, and the
/// graph's inputs and outputs. Nodes are named after the module they come from (<see cref="Scope"/>), so a
/// graph viewer shows <c>layers.1/LayerNormalization</c>.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public OnnxGraphBuilder(OnnxExportOptions options, string name)
    {
        Options = options;
        Graph = new GraphProto { Name = name };
    }

    /// <summary>The choices the graph is built with.</summary>
    public OnnxExportOptions Options { get; }

    /// <summary>The default-domain operator set the graph targets.</summary>
    public int Opset => Options.Opset;

    /// <summary>The graph as built so far.</summary>
    public GraphProto Graph { get; }

    /// <summary>The state-dict path of the module being exported ("" for the root); prefixes node and value names.</summary>
    public string Scope { get; private set; } = "";

    /// <summary>Enters the module at <paramref name="path"/> until the result is disposed.</summary>
    public IDisposable Enter(string path)
    {
        string outer = Scope;
        Scope = path;
        return new ScopeExit(this, outer);
    }

    private sealed class ScopeExit(OnnxGraphBuilder builder, string outer) : IDisposable
    {
        public void Dispose() => builder.Scope = outer;
    }

    /// <summary>A name not used before, built from <paramref name="hint"/>.</summary>
    public string UniqueName(string hint)
    {
        if (_names.Add(hint)) return hint;
        for (int i = 1; ; i++)
        {
            string candidate = hint + "_" + i.ToString(CultureInfo.InvariantCulture);
            if (_names.Add(candidate)) return candidate;
        }
    }

    private string Scoped(string local) => Scope.Length == 0 ? local : Scope + "." + local;

    /// <summary>Declares a graph input of element type float.</summary>
    public OnnxValue AddInput(string name, OnnxDim[] dims)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"the name '{name}' is taken.");
        Graph.Input.Add(ValueInfo(name, dims));
        return new OnnxValue(name, dims);
    }

    /// <summary>Declares <paramref name="value"/> a graph output called <paramref name="name"/>.</summary>
    public void AddOutput(OnnxValue value, string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"the name '{name}' is taken.");
        var node = NewNode("Identity", "output");
        node.Input.Add(value.Name);
        node.Output.Add(name);
        Graph.Node.Add(node);
        Graph.Output.Add(ValueInfo(name, value.Dims));
    }

    private static ValueInfoProto ValueInfo(string name, OnnxDim[] dims)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d.Size is int size) dim.DimValue = size;
            else if (d.Symbol is { } symbol) dim.DimParam = symbol;
            tensorType.Shape.Dim.Add(dim);
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }

    /// <summary>A float initializer named after <paramref name="local"/> in the current scope, holding a copy of <paramref name="values"/>.</summary>
    public string Weight(string local, ReadOnlySpan<float> values, params ReadOnlySpan<int> dims)
    {
        long count = 1;
        foreach (int d in dims) count *= d;
        if (count != values.Length) throw new InvalidOperationException($"initializer '{local}': {values.Length} values for {count} elements.");
        var t = new TensorProto { Name = UniqueName(Scoped(local)), DataType = (int)TensorProto.Types.DataType.Float };
        foreach (int d in dims) t.Dims.Add(d);
        // float_data is packed little-endian by protobuf on every machine, unlike raw_data copied from memory.
        var data = new float[values.Length];
        values.CopyTo(data);
        t.FloatData.AddRange(data);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>A float initializer holding <paramref name="tensor"/> with its shape.</summary>
    public string Weight(string local, Tensor tensor) => Weight(local, tensor.Span, tensor.Shape);

    /// <summary>A float initializer of <paramref name="count"/> copies of <paramref name="value"/> (gains of 1, shifts of 0).</summary>
    public string Filled(string local, float value, int count)
    {
        var values = new float[count];
        Array.Fill(values, value);
        return Weight(local, values, count);
    }

    /// <summary>A float scalar constant.</summary>
    public string Scalar(string local, float value) => Weight(local, [value]);

    /// <summary>A one-dimensional int64 constant (shapes, axes, indices).</summary>
    public string Int64s(string local, params long[] values)
    {
        var t = new TensorProto { Name = UniqueName(Scoped(local)), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>An int64 scalar constant.</summary>
    public string Int64Scalar(string local, long value)
    {
        var t = new TensorProto { Name = UniqueName(Scoped(local)), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Int64Data.Add(value);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>
    /// Adds a node of <paramref name="opType"/> and returns the names of its <paramref name="outputs"/> outputs.
    /// A null input is an omitted optional input. Attribute values may be int, long, float, string, long[], float[], string[] or a TensorProto.
    /// </summary>
    public string[] Node(string opType, IReadOnlyList<string?> inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var node = NewNode(opType, opType);
        int last = inputs.Count;
        while (last > 0 && inputs[last - 1] is null) last--;
        for (int i = 0; i < last; i++) node.Input.Add(inputs[i] ?? "");
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            names[i] = UniqueName(Scoped(opType + (outputs > 1 ? "_" + i.ToString(CultureInfo.InvariantCulture) : "")));
            node.Output.Add(names[i]);
        }
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>Adds a node with one output and returns its name.</summary>
    public string Op(string opType, params string?[] inputs) => Node(opType, inputs, 1)[0];

    /// <summary>Adds a node with one output and attributes.</summary>
    public string Op(string opType, string?[] inputs, params (string Name, object Value)[] attributes) => Node(opType, inputs, 1, attributes)[0];

    private NodeProto NewNode(string opType, string hint) => new() { OpType = opType, Name = UniqueName((Scope.Length == 0 ? "" : Scope + "/") + hint) };

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ls); break;
            case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(fs); break;
            case string[] ss: a.Type = AttributeProto.Types.AttributeType.Strings; a.Strings.AddRange(ss.Select(ByteString.CopyFromUtf8)); break;
            case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
            default: throw new ArgumentException($"attribute '{name}': unsupported value type {value.GetType().Name}.", nameof(value));
        }
        return a;
    }
}
