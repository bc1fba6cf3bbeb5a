using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx;

/// <summary>The shape of a model's input: inferred from its first layer, or given and checked against it, with dynamic dimensions named after their role.</summary>
internal static class InputSignature
{
    private sealed record Inferred(int?[] Sizes, string[] Roles);

    public static OnnxDim[] Resolve(Module model, int[]? given)
    {
        var inferred = Infer(model);
        if (given is null)
        {
            if (inferred is null)
                throw new OnnxExportException("", $"ONNX export: the input shape of {model.GetType().Name} cannot be inferred from its layers; give it in OnnxExportOptions.InputShape (−1 for the batch dimension).");
            // Batch and time are left to run time; a recurrent layer unrolled over time says so when it needs a length.
            return inferred.Sizes.Select((size, i) => size is int s ? OnnxDim.Of(s) : OnnxDim.Dynamic(inferred.Roles[i])).ToArray();
        }
        var result = new OnnxDim[given.Length];
        for (int i = 0; i < given.Length; i++)
        {
            string role = inferred is not null && inferred.Roles.Length == given.Length ? inferred.Roles[i] : i == 0 ? "batch" : $"dim{i}";
            result[i] = given[i] == -1 ? OnnxDim.Dynamic(role) : OnnxDim.Of(given[i]);
        }
        return result;
    }

    /// <summary>Sizes (null where the model accepts any) and roles of the input axes, or null when the model does not say.</summary>
    private static Inferred? Infer(Module module)
    {
        switch (module)
        {
            case Mlp m: return Infer(m.Layers);
            case Sequential s:
                foreach (var layer in s.Layers)
                {
                    // Shape-preserving layers say nothing about the input; the first one that does decides.
                    if (layer is ReLU or Tanh or Sigmoid or Gelu or SiLU or Dropout) continue;
                    return Infer(layer);
                }
                return null;
            case Linear l: return Features(l.InFeatures);
            case WeightNormLinear w: return Features(w.WeightV.Value.Dim(1));
            case LayerNorm ln: return Trailing(ln.NormalizedShape.ToArray());
            case RmsNorm rms: return Trailing(rms.NormalizedShape.ToArray());
            case BatchNorm1d bn: return Features(bn.NumFeatures);
            case SyncBatchNorm sbn: return Features(sbn.NumFeatures);
            case GroupNorm gn: return Features(gn.NumChannels);
            case SequenceClassifier c: return Features(c.Steps * c.StepWidth);
            case IRecurrentCell cell: return Features(cell.InputSize);
            case RecurrentLayer r: return Sequence(r.BatchFirst, r.Cells[0].InputSize);
            case RecurrentStack st: return Sequence(st.BatchFirst, st.InputSize);
            case NormSharp.Layers.Transformer.TransformerLanguageModel or RecurrentLanguageModel: return new Inferred([null, null], ["batch", "time"]);
            case NormSharp.Layers.Transformer.TransformerEncoderLayer t: return Infer(t.SelfAttn);
            case NormSharp.Layers.Transformer.MultiheadAttention a: return Sequence(a.BatchFirst, a.EmbedDim);
            default: return null;
        }
    }

    private static Inferred Features(int width) => new([null, width], ["batch", "features"]);

    private static Inferred Sequence(bool batchFirst, int input) => batchFirst
        ? new Inferred([null, null, input], ["batch", "time", "features"])
        : new Inferred([null, null, input], ["time", "batch", "features"]);

    private static Inferred Trailing(int[] shape) =>
        new([null, .. shape.Select(d => (int?)d)], ["batch", .. shape.Select((_, i) => $"features{i}")]);
}
