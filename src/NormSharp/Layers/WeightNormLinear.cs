using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// A dense layer with weight normalization (Salimans &amp; Kingma 2016; PyTorch's <c>weight_norm</c> on
/// <c>nn.Linear</c>): each output row of the weight is w = g·v/‖v‖, trained through g and v. The paper's
/// invariance table contrasts it with batch and layer normalization.
/// </summary>
public sealed class WeightNormLinear : Module
{
    /// <summary>Direction parameters, [out, in].</summary>
    public Variable WeightV { get; }

    /// <summary>Per-row magnitudes, [out, 1].</summary>
    public Variable WeightG { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Creates the layer from a freshly initialized <see cref="Linear"/>: v = W and g = ‖W row‖, so it starts as the same function.</summary>
    public WeightNormLinear(int inFeatures, int outFeatures, Rng rng, bool bias = true, InitScheme init = InitScheme.PyTorchDefault)
    {
        var plain = new Linear(inFeatures, outFeatures, rng, bias, init);
        WeightV = Variable.Parameter(plain.Weight.Value, "weight_v");
        var g = Tensor.Zeros(outFeatures, 1);
        var v = plain.Weight.Value.Span;
        for (int o = 0; o < outFeatures; o++)
        {
            double s = 0;
            foreach (float e in v.Slice(o * inFeatures, inFeatures)) s += (double)e * e;
            g[o] = (float)Math.Sqrt(s);
        }
        WeightG = Variable.Parameter(g, "weight_g");
        Bias = plain.Bias is null ? null : RegisterParameter("bias", Variable.Parameter(plain.Bias.Value, "bias"));
        RegisterParameter("weight_g", WeightG);
        RegisterParameter("weight_v", WeightV);
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input) => F.Linear(input, F.WeightNorm(WeightV, WeightG), Bias);
}
