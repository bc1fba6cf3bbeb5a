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

/// <summary>GELU (exact erf form) as a layer.</summary>
public sealed class Gelu : Module
{
    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Gelu(input);
}
