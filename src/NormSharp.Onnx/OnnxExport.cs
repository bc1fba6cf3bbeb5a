using System.Reflection;
using Module = NormSharp.Layers.Module;
using Google.Protobuf;
using NormSharp.IO;
using NormSharp.Layers;
using NormSharp.Onnx.Exporters;
using NormSharp.Onnx.Graph;
using Onnx;

namespace NormSharp.Onnx;

/// <summary>
/// Exports a NormSharp model as an ONNX model for ONNX Runtime and other ONNX back ends. The graph computes the
/// model's evaluation-mode function (batch norms use their running statistics, dropout is the identity),
/// whatever mode the model is in; the weights are copied at export.
/// </summary>
/// <remarks>
/// <para>Exported: <see cref="Sequential"/>, <see cref="Mlp"/>, <see cref="Linear"/>, <see cref="WeightNormLinear"/>
/// (its effective weight), <see cref="LayerNorm"/> (<c>LayerNormalization</c>), <see cref="RmsNorm"/>,
/// <see cref="BatchNorm1d"/>, <see cref="SyncBatchNorm"/>, <see cref="GroupNorm"/>, ReLU, Tanh, Sigmoid, GELU, SiLU,
/// <see cref="Dropout"/>, <see cref="Layers.Recurrent.RecurrentLayer"/>, the PyTorch-layout stacks
/// <see cref="Layers.Recurrent.Lstm"/>, <see cref="Layers.Recurrent.Gru"/> and <see cref="Layers.Recurrent.Rnn"/>,
/// <see cref="Layers.Recurrent.SequenceClassifier"/>, the recurrent cells on their own (one step from a zero state),
/// <see cref="Layers.Transformer.MultiheadAttention"/>, <see cref="Layers.Transformer.TransformerEncoderLayer"/> and
/// the language models <see cref="Layers.Transformer.TransformerLanguageModel"/> and
/// <see cref="Layers.Recurrent.RecurrentLanguageModel"/> (token ids as floats in, logits out).
/// Plain LSTM, GRU and RNN cells become ONNX's recurrent operators; the LN-LSTM, LN-GRU and BN-LSTM cells are
/// unrolled over a sequence length fixed at export. Any other module type (a user's own module) is an <see cref="OnnxExportException"/> naming it.</para>
/// <para>The batch dimension is dynamic unless <see cref="OnnxExportOptions.InputShape"/> fixes it.</para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The model as an ONNX <see cref="ModelProto"/>.</summary>
    public static ModelProto ToModel(Module model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        options.Validate();
        var g = new OnnxGraphBuilder(options, model.GetType().Name);
        var input = g.AddInput(options.InputName, InputSignature.Resolve(model, options.InputShape));
        var output = ModuleExport.Export(g, model, "", input);
        g.AddOutput(output, options.OutputName);
        g.Graph.DocString = model.ToString();
        var proto = new ModelProto
        {
            IrVersion = IrVersion(options.Opset),
            ProducerName = "NormSharp",
            ProducerVersion = typeof(Module).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        return proto;
    }

    /// <summary>The model as the bytes of an <c>.onnx</c> file.</summary>
    public static byte[] ToBytes(Module model, OnnxExportOptions? options = null) => ToModel(model, options).ToByteArray();

    /// <summary>
    /// Writes the model to <paramref name="path"/>. The file appears whole or not at all: it is written beside
    /// the target and renamed over it.
    /// </summary>
    public static void Save(Module model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ToBytes(model, options);
        AtomicFile.Write(path, fs => fs.Write(bytes));
    }

    /// <summary>The IR version that goes with an operator set (ONNX's release table): readers check the pair.</summary>
    private static long IrVersion(int opset) => opset switch
    {
        <= 18 => 8,
        <= 20 => 9,
        <= 22 => 10,
        _ => 11,
    };
}
