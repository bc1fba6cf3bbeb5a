using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// A <see cref="RecurrentLayer"/>: plain LSTM, GRU and RNN cells become ONNX's own <c>LSTM</c>, <c>GRU</c> and
/// <c>RNN</c> operators (any sequence length); the layer- and batch-normalized cells have no ONNX operator
/// and are unrolled over a sequence length fixed at export. Every layer starts from a zero state, as
/// <see cref="RecurrentLayer.Forward"/> does.
/// </summary>
internal static class RecurrentExport
{
    /// <summary>What a stack of cells produced: the top layer's h at every step ([T, B, H], when asked for) and at the last step ([B, H]).</summary>
    public sealed record Result(string? Outputs, string Last);

    /// <summary>The layer's <see cref="RecurrentLayer.Forward"/>: the top layer's h at every step, in the layer's layout.</summary>
    public static OnnxValue Forward(OnnxGraphBuilder g, RecurrentLayer layer, string path, OnnxValue x)
    {
        Shapes.RequireRank(layer, path, x, layer.BatchFirst ? "[B, T, I]" : "[T, B, I]", 3);
        var (time, batch) = layer.BatchFirst ? (x.Dims[1], x.Dims[0]) : (x.Dims[0], x.Dims[1]);
        string timeFirst = layer.BatchFirst ? g.Transpose(x.Name, 1, 0, 2) : x.Name;
        var result = Run(g, layer, path, timeFirst, x.Dims[2], time, allOutputs: true);
        var hidden = OnnxDim.Of(layer.HiddenSize);
        return layer.BatchFirst
            ? new OnnxValue(g.Transpose(result.Outputs!, 1, 0, 2), [batch, time, hidden])
            : new OnnxValue(result.Outputs!, [time, batch, hidden]);
    }

    /// <summary>A PyTorch-layout stack's <see cref="Module.Forward"/>: the output at every step, [T, B, D·H] (or [B, T, D·H] batch-first), from zero states.</summary>
    public static OnnxValue Stack(OnnxGraphBuilder g, RecurrentStack stack, string path, OnnxValue x)
    {
        Shapes.RequireRank(stack, path, x, stack.BatchFirst ? "[B, T, I] (a batch; the export takes no unbatched sequence)" : "[T, B, I] (a batch; the export takes no unbatched sequence)", 3);
        Shapes.RequireLast(stack, path, x, stack.InputSize, "input features");
        var (time, batch) = stack.BatchFirst ? (x.Dims[1], x.Dims[0]) : (x.Dims[0], x.Dims[1]);
        string timeFirst = stack.BatchFirst ? g.Transpose(x.Name, 1, 0, 2) : x.Name;
        string output = RecurrentOperators.Stack(g, stack, timeFirst);
        var width = OnnxDim.Of(stack.Directions * stack.HiddenSize);
        return stack.BatchFirst
            ? new OnnxValue(g.Transpose(output, 1, 0, 2), [batch, time, width])
            : new OnnxValue(output, [time, batch, width]);
    }

    /// <summary>A cell's own <see cref="Module.Forward"/>: one step from a zero state, [B, I] → h [B, H].</summary>
    public static OnnxValue SingleStep(OnnxGraphBuilder g, IRecurrentCell cell, string path, OnnxValue x)
    {
        var module = (Module)cell;
        Shapes.RequireRank(module, path, x, $"[B, {cell.InputSize}] (one time step)", 2);
        Shapes.RequireLast(module, path, x, cell.InputSize, "input features");
        string sequence = g.Unsqueeze(x.Name, 0);
        var result = cell is LstmCell or GruCell or RnnCell
            ? RecurrentOperators.Run(g, cell, sequence)
            : UnrolledCells.Run(g, cell, sequence, steps: 1, keepAll: false);
        return new OnnxValue(result.Last, x.WithLast(cell.HiddenSize));
    }

    /// <summary>Runs the stacked cells over <paramref name="timeFirst"/> ([T, B, I]).</summary>
    public static Result Run(OnnxGraphBuilder g, RecurrentLayer layer, string path, string timeFirst, OnnxDim features, OnnxDim time, bool allOutputs)
    {
        var cells = layer.Cells;
        if (features.Size is int width && width != cells[0].InputSize)
            throw OnnxExportException.For(path, layer, $"expects {cells[0].InputSize} input features per time step, but its input has {width}.");
        string input = timeFirst;
        Result result = null!;
        for (int l = 0; l < cells.Count; l++)
        {
            var cell = cells[l];
            var module = (Module)cell;
            string cellPath = ModuleExport.ChildPath(layer, path, module);
            bool keepAll = allOutputs || l + 1 < cells.Count;
            using (g.Enter(cellPath))
            {
                result = cell switch
                {
                    LstmCell or GruCell or RnnCell => RecurrentOperators.Run(g, cell, input),
                    _ => UnrolledCells.Run(g, cell, input,
                        time.Size ?? throw OnnxExportException.For(cellPath, module,
                            "has no ONNX operator and is unrolled over time, so the sequence length must be fixed: give it in OnnxExportOptions.InputShape."),
                        keepAll),
                };
            }
            input = result.Outputs!;
        }
        return result;
    }
}
