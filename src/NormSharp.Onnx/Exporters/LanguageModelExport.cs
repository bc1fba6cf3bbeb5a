using NormSharp.Layers.Transformer;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// The decoder-only <see cref="TransformerLanguageModel"/>: token ids [B, T] (whole-number floats, as its
/// <c>Forward</c> takes them) to logits [B, T, vocabulary]. Ids become int64 for a <c>Gather</c> from the token
/// table; the first T rows of the position table (learned, or the sinusoids as a constant) are sliced at run time,
/// so any length up to the context runs; the blocks are causal; the output projection is the token table
/// transposed when tied.
/// </summary>
internal static class LanguageModelExport
{
    public static OnnxValue Forward(OnnxGraphBuilder g, TransformerLanguageModel model, string path, OnnxValue x)
    {
        var (batch, time) = TokenRows(model, path, x, model.ContextLength);
        int d = model.Options.DModel;
        string ids = g.Op("Cast", [x.Name], ("to", (long)global::Onnx.TensorProto.Types.DataType.Int64));
        string embedded;
        using (g.Enter(ModuleExport.ChildPath(model, path, model.TokenEmbedding)))
            embedded = g.Op("Gather", [g.Weight("weight", model.TokenEmbedding.Weight.Value), ids], ("axis", 0L));
        // Rows [0, T) of the position table, T read from the input's shape.
        string length = g.Op("Slice", g.Op("Shape", x.Name), g.Int64s("time_start", 1), g.Int64s("time_end", 2));
        string table = model.PositionEmbedding is { } learned
            ? Scoped(g, ModuleExport.ChildPath(model, path, learned), () => g.Weight("weight", learned.Weight.Value))
            : g.Weight("sinusoids", model.PositionEncoding!.Table);
        string positions = g.Op("Slice", table, g.Int64s("position_start", 0), length, g.Int64s("position_axes", 0));
        var h = new OnnxValue(g.Add(embedded, positions), [batch, time, OnnxDim.Of(d)]);
        foreach (var layer in model.Layers) h = ModuleExport.Export(g, layer, ModuleExport.ChildPath(model, path, layer), h);
        if (model.Norm is { } norm) h = ModuleExport.Export(g, norm, ModuleExport.ChildPath(model, path, norm), h);
        if (model.LmHead is { } head) return ModuleExport.Export(g, head, ModuleExport.ChildPath(model, path, head), h);
        string logits = DenseExport.MatMulTransposed(g, h.Name, "tied_output_weight_t", model.TokenEmbedding.Weight.Value);
        return new OnnxValue(logits, [batch, time, OnnxDim.Of(model.VocabularySize)]);
    }

    /// <summary>
    /// The <see cref="NormSharp.Layers.Recurrent.RecurrentLanguageModel"/>: ids [B, T] to logits [B, T, vocabulary], the
    /// ids gathered time-major from the embedding table, the recurrent layer as in <see cref="RecurrentExport"/>
    /// (normalized cells unrolled over a length fixed at export), the head at every step.
    /// </summary>
    public static OnnxValue Forward(OnnxGraphBuilder g, NormSharp.Layers.Recurrent.RecurrentLanguageModel model, string path, OnnxValue x)
    {
        var (batch, time) = TokenRows(model, path, x, model.ContextLength);
        string ids = g.Op("Cast", [g.Transpose(x.Name, 1, 0)], ("to", (long)global::Onnx.TensorProto.Types.DataType.Int64));
        string embedded = Scoped(g, ModuleExport.ChildPath(model, path, model.Embedding),
            () => g.Op("Gather", [g.Weight("weight", model.Embedding.Weight.Value), ids], ("axis", 0L)));
        var h = ModuleExport.Export(g, model.Rnn, ModuleExport.ChildPath(model, path, model.Rnn),
            new OnnxValue(embedded, [time, batch, OnnxDim.Of(model.Embedding.EmbeddingDim)]));
        var logits = ModuleExport.Export(g, model.Head, ModuleExport.ChildPath(model, path, model.Head), h);
        return new OnnxValue(g.Transpose(logits.Name, 1, 0, 2), [batch, time, OnnxDim.Of(model.VocabularySize)]);
    }

    /// <summary>The batch and time axes of token ids [B, T], checked against the model's context.</summary>
    private static (OnnxDim Batch, OnnxDim Time) TokenRows(Layers.Module model, string path, OnnxValue x, int context)
    {
        Shapes.RequireRank(model, path, x, "token ids [B, T]", 2);
        if (x.Dims[1].Size is int t && (t < 1 || t > context))
            throw OnnxExportException.For(path, model, $"reads 1 to {context} tokens per row, but the input has {t}.");
        return (x.Dims[0], x.Dims[1]);
    }

    private static string Scoped(OnnxGraphBuilder g, string path, Func<string> build)
    {
        using var _ = g.Enter(path);
        return build();
    }
}
