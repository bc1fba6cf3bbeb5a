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

    /// <summary>
    /// A <see cref="RecurrentStack"/> (<see cref="Lstm"/>, <see cref="Gru"/>, <see cref="Rnn"/>) on a time-first input: each layer
    /// one ONNX operator, both directions in one (<c>direction = bidirectional</c>), its output [T, D, B, H] laid out as
    /// [T, B, D·H], the forward half first, for the next layer. Returns the top layer's output.
    /// </summary>
    public static string Stack(OnnxGraphBuilder g, RecurrentStack stack, string timeFirst)
    {
        var (op, order) = stack switch
        {
            Lstm => ("LSTM", LstmOrder),
            Gru => ("GRU", GruOrder),
            Rnn => ("RNN", RnnOrder),
            _ => throw new ArgumentException($"{stack.GetType().Name} has no ONNX recurrent operator.", nameof(stack)),
        };
        var parameters = stack.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Value);
        int h = stack.HiddenSize, gates = order.Length * h, directions = stack.Directions;
        string input = timeFirst;
        for (int l = 0; l < stack.NumLayers; l++)
        {
            int features = l == 0 ? stack.InputSize : directions * h;
            var w = new List<float>();
            var r = new List<float>();
            var b = new List<float>();
            for (int d = 0; d < directions; d++)
            {
                string suffix = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                w.AddRange(Reorder(parameters["weight_ih" + suffix], order));
                r.AddRange(Reorder(parameters["weight_hh" + suffix], order));
                if (stack.Bias)
                {
                    b.AddRange(Reorder(parameters["bias_ih" + suffix], order));
                    b.AddRange(Reorder(parameters["bias_hh" + suffix], order));
                }
                else b.AddRange(new float[2 * gates]);
            }
            string layer = $"l{l}";
            var attributes = new List<(string, object)> { ("hidden_size", (long)h), ("direction", directions == 2 ? "bidirectional" : "forward") };
            if (op == "GRU") attributes.Add(("linear_before_reset", 1L));
            var y = g.Node(op, [input, g.Weight($"weight_ih_{layer}", w.ToArray(), directions, gates, features),
                g.Weight($"weight_hh_{layer}", r.ToArray(), directions, gates, h), g.Weight($"bias_{layer}", b.ToArray(), directions, 2 * gates)],
                1, [.. attributes])[0];
            input = g.Reshape(g.Transpose(y, 0, 2, 1, 3), 0, 0, directions * h);
        }
        return input;
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
