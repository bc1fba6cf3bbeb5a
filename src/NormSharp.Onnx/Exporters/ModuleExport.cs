using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// Exports one module of the tree: containers pass their input through their children, every other module
/// kind has an exporter of its own. The graph computes the module's evaluation-mode function (running
/// statistics, no dropout), whatever mode the model is in.
/// </summary>
internal static class ModuleExport
{
    public static OnnxValue Export(OnnxGraphBuilder g, Module module, string path, OnnxValue x)
    {
        using var _ = g.Enter(path);
        return module switch
        {
            Sequential s => Chain(g, s, path, x),
            Mlp m => Export(g, m.Layers, ChildPath(m, path, m.Layers), x),
            Linear l => DenseExport.Linear(g, l, path, x),
            WeightNormLinear w => DenseExport.WeightNormLinear(g, w, path, x),
            LayerNorm ln => NormalizationExport.LayerNorm(g, ln, path, x),
            RmsNorm rms => NormalizationExport.RmsNorm(g, rms, path, x),
            BatchNorm1d bn => NormalizationExport.BatchNorm(g, bn, path, x),
            SyncBatchNorm sbn => NormalizationExport.SyncBatchNorm(g, sbn, path, x),
            GroupNorm gn => NormalizationExport.GroupNorm(g, gn, path, x),
            ReLU or Tanh or Sigmoid or Gelu or SiLU => ActivationExport.Activation(g, module, x),
            Dropout => x, // identity in evaluation
            RecurrentLayer r => RecurrentExport.Forward(g, r, path, x),
            RecurrentStack s => RecurrentExport.Stack(g, s, path, x),
            IRecurrentCell cell => RecurrentExport.SingleStep(g, cell, path, x),
            SequenceClassifier c => SequenceClassifierExport.Forward(g, c, path, x),
            NormSharp.Layers.Transformer.TransformerEncoderLayer t => TransformerExport.EncoderLayer(g, t, path, x),
            NormSharp.Layers.Transformer.TransformerLanguageModel lm => LanguageModelExport.Forward(g, lm, path, x),
            RecurrentLanguageModel rlm => LanguageModelExport.Forward(g, rlm, path, x),
            NormSharp.Layers.Transformer.MultiheadAttention a => TransformerExport.MultiheadAttention(g, a, path, x, a.IsCausal),
            _ => throw OnnxExportException.For(path, module, "no ONNX form is defined for this module type."),
        };
    }

    private static OnnxValue Chain(OnnxGraphBuilder g, Sequential s, string path, OnnxValue x)
    {
        foreach (var (name, child) in s.NamedChildren()) x = Export(g, child, Join(path, name), x);
        return x;
    }

    /// <summary>The state-dict path of <paramref name="child"/>, a direct child of <paramref name="parent"/> at <paramref name="parentPath"/>.</summary>
    public static string ChildPath(Module parent, string parentPath, Module child)
    {
        foreach (var (name, c) in parent.NamedChildren())
            if (ReferenceEquals(c, child)) return Join(parentPath, name);
        throw new InvalidOperationException($"{child.GetType().Name} is not a child of {parent.GetType().Name}.");
    }

    public static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;
}
