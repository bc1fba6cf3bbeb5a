using NormSharp.Layers.Recurrent;
using NormSharp.Onnx.Graph;
using NormSharp.Tensors;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// Plain cells as ONNX's recurrent operators. The math is the same; the gate blocks are stored in ONNX's order:
/// LSTM weights go from PyTorch's i, f, g, o to ONNX's i, o, f, c; GRU weights from r, z, n to z, r, h, with
/// <c>linear_before_reset = 1</c> (the reset gate multiplies W_hn h + b_hn, as in PyTorch).
/// </summary>
internal static class RecurrentOperators
{
    private static readonly int[] LstmOrder = [0, 3, 1, 2];
    private static readonly int[] GruOrder = [1, 0, 2];
    private static readonly int[] RnnOrder = [0];

    public static RecurrentExport.Result Run(OnnxGraphBuilder g, IRecurrentCell cell, string timeFirst)
    {
        var (op, order, wIh, wHh, bIh, bHh) = cell switch
        {
            LstmCell c => ("LSTM", LstmOrder, c.WeightIh, c.WeightHh, c.BiasIh, c.BiasHh),
            GruCell c => ("GRU", GruOrder, c.WeightIh, c.WeightHh, c.BiasIh, c.BiasHh),
            RnnCell c => ("RNN", RnnOrder, c.WeightIh, c.WeightHh, c.BiasIh, c.BiasHh),
            _ => throw new ArgumentException($"{cell.GetType().Name} has no ONNX recurrent operator.", nameof(cell)),
        };
        int h = cell.HiddenSize, gates = order.Length * h;
        string w = g.Weight("weight_ih", Reorder(wIh.Value, order), 1, gates, cell.InputSize);
        string r = g.Weight("weight_hh", Reorder(wHh.Value, order), 1, gates, h);
        string b = g.Weight("bias", [.. Reorder(bIh.Value, order), .. Reorder(bHh.Value, order)], 1, 2 * gates);
        (string, object)[] attributes = op == "GRU"
            ? [("hidden_size", (long)h), ("linear_before_reset", 1L)]
            : [("hidden_size", (long)h)];
        var outputs = g.Node(op, [timeFirst, w, r, b], 2, attributes);
        // Y is [T, directions, B, H] and Y_h [directions, B, H]; there is one direction.
        return new RecurrentExport.Result(g.Squeeze(outputs[0], 1), g.Squeeze(outputs[1], 0));
    }

    /// <summary>The rows of a [k·H, ...] weight (or [k·H] bias) with its k gate blocks in <paramref name="order"/>.</summary>
    private static float[] Reorder(Tensor t, int[] order)
    {
        var src = t.Span;
        int block = src.Length / order.Length;
        var dst = new float[src.Length];
        for (int i = 0; i < order.Length; i++) src.Slice(order[i] * block, block).CopyTo(dst.AsSpan(i * block, block));
        return dst;
    }
}
