using NormSharp.Layers;

namespace NormSharp.Optimizers;

/// <summary>Common ways to split a model's parameters into <see cref="ParameterGroup"/>s.</summary>
public static class ParameterGroups
{
    /// <summary>
    /// Two groups, the usual recipe for AdamW: weight matrices (parameters of rank 2 or more) decay by
    /// <paramref name="weightDecay"/>; vectors (biases, normalization gains and shifts) do not decay, since
    /// shrinking a LayerNorm gain or a bias toward zero is not a useful prior.
    /// </summary>
    public static ParameterGroup[] DecayWeightsOnly(Module model, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.Parameters();
        return
        [
            new ParameterGroup(parameters.Where(p => p.Value.Rank >= 2), weightDecay: weightDecay, name: "decay"),
            new ParameterGroup(parameters.Where(p => p.Value.Rank < 2), weightDecay: 0, name: "no_decay"),
        ];
    }
}
