using NormSharp.Autograd;
using NormSharp.Layers;

namespace NormSharp.Training;

/// <summary>
/// A model's parameters grouped by the module that owns them (<c>layers.0</c> for <c>layers.0.weight</c> and
/// <c>layers.0.bias</c>), in the order of the model's parameters: the "layers" that per-layer metrics report.
/// </summary>
internal static class ParameterLayers
{
    /// <summary>The groups of <paramref name="model"/>'s parameters, named by their owning module.</summary>
    public static (string Layer, Variable[] Parameters)[] Of(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.NamedParameters()
            .GroupBy(p => p.Name.Contains('.') ? p.Name[..p.Name.LastIndexOf('.')] : p.Name)
            .Select(g => (g.Key, g.Select(p => p.Parameter).ToArray()))
            .ToArray();
    }
}
