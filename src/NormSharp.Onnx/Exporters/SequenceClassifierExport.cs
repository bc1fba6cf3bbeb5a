using NormSharp.Layers.Recurrent;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// A <see cref="SequenceClassifier"/>: the flat image [B, steps·width] is read as a sequence (through its
/// pixel permutation, if any), the recurrent layer runs from a zero state, and the head classifies the last h.
/// </summary>
internal static class SequenceClassifierExport
{
    public static OnnxValue Forward(OnnxGraphBuilder g, SequenceClassifier model, string path, OnnxValue x)
    {
        int steps = model.Steps, width = model.StepWidth;
        Shapes.RequireRank(model, path, x, $"[B, {steps * width}]", 2);
        Shapes.RequireLast(model, path, x, steps * width, "inputs");
        string flat = model.Permutation is { } permutation
            ? g.Gather(x.Name, permutation.Select(i => (long)i).ToArray(), 1)
            : x.Name;
        string timeFirst = g.Transpose(g.Reshape(flat, 0, steps, width), 1, 0, 2);
        string rnnPath = ModuleExport.ChildPath(model, path, model.Rnn);
        RecurrentExport.Result result;
        using (g.Enter(rnnPath))
            result = RecurrentExport.Run(g, model.Rnn, rnnPath, timeFirst, OnnxDim.Of(width), OnnxDim.Of(steps), allOutputs: false);
        var last = new OnnxValue(result.Last, [x.Dims[0], OnnxDim.Of(model.Rnn.HiddenSize)]);
        return ModuleExport.Export(g, model.Head, ModuleExport.ChildPath(model, path, model.Head), last);
    }
}
