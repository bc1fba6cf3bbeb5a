namespace NormSharp.Onnx.Graph;

/// <summary>One dimension of a value in an exported graph: a fixed size, or a symbol (such as <c>batch</c>) bound when the model runs.</summary>
internal readonly record struct OnnxDim(int? Size, string? Symbol)
{
    /// <summary>A fixed size.</summary>
    public static OnnxDim Of(int size) => new(size, null);

    /// <summary>A size chosen at run time, named <paramref name="symbol"/>.</summary>
    public static OnnxDim Dynamic(string symbol) => new(null, symbol);

    /// <summary>The size when fixed, else its symbol.</summary>
    public override string ToString() => Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}

/// <summary>A value of the graph being built: its name and its shape.</summary>
internal sealed record OnnxValue(string Name, OnnxDim[] Dims)
{
    /// <summary>Number of dimensions.</summary>
    public int Rank => Dims.Length;

    /// <summary>The shape as printed, e.g. [batch, 784].</summary>
    public string ShapeText => "[" + string.Join(", ", Dims.Select(d => d.ToString())) + "]";

    /// <summary>This value's shape with the last dimension replaced.</summary>
    public OnnxDim[] WithLast(int size) => [.. Dims[..^1], OnnxDim.Of(size)];
}
