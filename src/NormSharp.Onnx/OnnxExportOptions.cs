using NormSharp.Errors;

namespace NormSharp.Onnx;

/// <summary>How <see cref="OnnxExport"/> writes a model.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The lowest operator set supported: 17, the first with <c>LayerNormalization</c>.</summary>
    public const int MinOpset = 17;

    /// <summary>The highest operator set supported: 23, the first with <c>RMSNormalization</c>.</summary>
    public const int MaxOpset = 23;

    /// <summary>
    /// The ONNX operator set (default-domain version), <see cref="MinOpset"/> to <see cref="MaxOpset"/>. Newer
    /// sets get dedicated operators where ONNX has them: <c>Gelu</c> from 20 and <c>RMSNormalization</c> from 23;
    /// below, these are composed from primitive operators with the same result. The default, 17, runs on the
    /// widest range of runtimes.
    /// </summary>
    public int Opset { get; init; } = MinOpset;

    /// <summary>
    /// The shape of the model's input, −1 marking a dimension chosen when the model runs (named after its role:
    /// <c>batch</c>, <c>time</c>). Null infers it from the model with a dynamic batch dimension; needed when the
    /// model does not say (a container that starts with an activation of unknown width) and for recurrent layers
    /// unrolled over time, whose sequence length is fixed in the graph.
    /// </summary>
    public int[]? InputShape { get; init; }

    /// <summary>
    /// Whether each layer normalization subtracts its inputs' mean (one <c>ReduceMean</c> and <c>Sub</c>) before
    /// the <c>LayerNormalization</c> operator, which leaves the result unchanged in exact arithmetic. On by
    /// default: ONNX Runtime keeps that operator's mean in float32, so its error grows with the inputs' mean
    /// (measured against float64 with ONNX Runtime 1.31 at spread 1.5: 5.5e-7 at mean 10, 2.2e-5 at mean 1000,
    /// 4.1e-4 at mean 10,000), while NormSharp's statistics do not cancel; centered, the operator sees a mean
    /// near zero and stays within 1e-5 of NormSharp. Off gives the bare operator (a smaller graph that runtime
    /// fusions recognize) for inputs known to be near zero mean.
    /// </summary>
    public bool CenterLayerNormInputs { get; init; } = true;

    /// <summary>The name of the graph input.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The name of the graph output.</summary>
    public string OutputName { get; init; } = "output";

    internal void Validate()
    {
        if (Opset is < MinOpset or > MaxOpset)
            throw new InvalidValueException(nameof(Opset), $"ONNX export: opset {Opset} is not supported; choose {MinOpset} to {MaxOpset}.");
        if (InputShape is { } shape && (shape.Length == 0 || shape.Any(d => d == 0 || d < -1)))
            throw new InvalidValueException(nameof(InputShape), $"ONNX export: input shape [{string.Join(", ", shape)}] must have at least one dimension, each positive or −1 (chosen at run time).");
        if (string.IsNullOrEmpty(InputName) || string.IsNullOrEmpty(OutputName) || InputName == OutputName)
            throw new InvalidValueException(nameof(InputName), $"ONNX export: input and output need distinct non-empty names, got '{InputName}' and '{OutputName}'.");
    }
}
