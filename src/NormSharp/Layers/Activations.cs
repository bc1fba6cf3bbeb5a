using NormSharp.Autograd;

namespace NormSharp.Layers;

/// <summary>max(0, x) as a layer.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Relu(input);
}

/// <summary>tanh as a layer.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Tanh(input);
}

/// <summary>The logistic sigmoid as a layer.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Sigmoid(input);
}

/// <summary>GELU as a layer: the exact erf form by default, or its tanh approximation (PyTorch's <c>nn.GELU(approximate)</c>).</summary>
public sealed class Gelu(F.GeluApproximation approximate = F.GeluApproximation.None) : Module
{
    /// <summary>Which form of GELU the layer computes.</summary>
    public F.GeluApproximation Approximate { get; } = approximate;

    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Gelu(input, Approximate);

    /// <inheritdoc />
    protected override string ExtraRepr() => Approximate == F.GeluApproximation.Tanh ? "approximate='tanh'" : "";
}

/// <summary>x·σ(x) as a layer (PyTorch's <c>nn.SiLU</c>).</summary>
public sealed class SiLU : Module
{
    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Silu(input);
}
