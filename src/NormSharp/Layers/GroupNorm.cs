using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>Group normalization (Wu &amp; He 2018; PyTorch's <c>nn.GroupNorm</c>) over [N, C, ...] inputs.</summary>
public sealed class GroupNorm : Module
{
    /// <summary>Number of channel groups.</summary>
    public int NumGroups { get; }

    /// <summary>Channels.</summary>
    public int NumChannels { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Per-channel gain, or null.</summary>
    public Variable? Weight { get; }

    /// <summary>Per-channel bias, or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Creates the layer; <paramref name="numChannels"/> must be divisible by <paramref name="numGroups"/>.</summary>
    public GroupNorm(int numGroups, int numChannels, float eps = 1e-5f, bool affine = true)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new InvalidValueException(nameof(numGroups), $"GroupNorm: num_channels ({numChannels}) must be a positive multiple of num_groups ({numGroups}).");
        Kernels.Normalization.NormalizationArguments.CheckEps("GroupNorm", eps);
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        if (affine)
        {
            Weight = RegisterParameter("weight", Variable.Parameter(Tensor.Full(1f, numChannels), "weight"));
            Bias = RegisterParameter("bias", Variable.Parameter(Tensor.Zeros(numChannels), "bias"));
        }
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.GroupNorm(input, NumGroups, Weight, Bias, Eps);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{NumGroups}, {NumChannels}, eps={Repr.Float(Eps)}, affine={Repr.Bool(Weight is not null)}";
}
