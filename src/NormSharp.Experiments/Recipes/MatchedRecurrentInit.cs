using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// Makes an LSTM model start exactly where the LN-LSTM model of the same seed starts, but for the normalizations
/// (<see cref="TrainingConfig.MatchedRecurrentInit"/>). The LN-LSTM and BN-LSTM draw only their input and recurrent
/// weights (their bias is zero with the forget gate's block at 1), while PyTorch's LSTM also draws two uniform biases,
/// which both changes its bias and shifts every later draw (the output head). A comparison of the cells is then a
/// comparison of the normalizations, not of the starting points.
/// </summary>
public static class MatchedRecurrentInit
{
    /// <summary>
    /// Builds <paramref name="config"/>'s model with <paramref name="build"/> (a cell kind and a generator to a model):
    /// as it is, unless the configuration asks for matched initialization of an LSTM, which then gets the LN-LSTM's
    /// weights of the same generator state, its bias in b_ih and zero in b_hh.
    /// </summary>
    public static Module Build(TrainingConfig config, Rng rng, Func<CellKind, Rng, Module> build)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(build);
        if (!config.MatchedRecurrentInit || config.Cell != CellKind.Lstm) return build(config.Cell, rng);
        var referenceRng = new Rng(1);
        referenceRng.SetState(rng.GetState());
        var model = build(CellKind.Lstm, rng);
        var reference = build(CellKind.LnLstm, referenceRng).NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Value);
        foreach (var (name, parameter) in model.NamedParameters())
        {
            if (name.EndsWith(".bias_hh", StringComparison.Ordinal))
            {
                parameter.Value.Span.Clear();
                continue;
            }
            // The LSTM's b_ih takes the LN-LSTM's one bias; every other parameter has the same name in both.
            string source = name.EndsWith(".bias_ih", StringComparison.Ordinal) ? name[..^"_ih".Length] : name;
            if (!reference.TryGetValue(source, out var value) || value.Length != parameter.Value.Length)
                throw new InvalidOperationException($"MatchedRecurrentInit: the LN-LSTM model has no parameter '{source}' shaped like the LSTM's '{name}'.");
            parameter.Value.CopyFrom(value);
        }
        return model;
    }
}
