using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// The cells ONNX has no operator for, unrolled over a fixed number of time steps from primitive operators:
/// the input projection of every step is one <c>MatMul</c>, then each step is the cell's own arithmetic
/// (<c>LayerNormalization</c>, gates, state update), the weights shared by all steps.
/// </summary>
internal static class UnrolledCells
{
    /// <summary>BnLstmCell normalizes with the batch-norm default epsilon.</summary>
    private const float BatchNormEps = 1e-5f;

    public static RecurrentExport.Result Run(OnnxGraphBuilder g, IRecurrentCell cell, string timeFirst, int steps, bool keepAll)
    {
        int h = cell.HiddenSize;
        IStep step = cell switch
        {
            LnLstmCell c => new LnLstmStep(g, c),
            LnGruCell c => new LnGruStep(g, c),
            BnLstmCell c => new BnLstmStep(g, c),
            _ => throw new ArgumentException($"{cell.GetType().Name} has no unrolled form.", nameof(cell)),
        };
        var projected = DenseExport.MatMulTransposed(g, timeFirst, "weight_ih", step.WeightIh);
        string zeros = g.ZerosLike(timeFirst, 1, h);
        string hState = zeros, cState = zeros;
        var perStep = new List<string>(keepAll ? steps : 0);
        for (int t = 0; t < steps; t++)
        {
            (hState, cState) = step.Next(g, g.Take(projected, t, 0), hState, cState, t);
            if (keepAll) perStep.Add(g.Unsqueeze(hState, 0));
        }
        return new RecurrentExport.Result(keepAll ? g.Concat(0, [.. perStep]) : null, hState);
    }

    private interface IStep
    {
        Tensors.Tensor WeightIh { get; }

        /// <summary>The state after step <paramref name="t"/> from its projected input [B, gates]; cell states are ignored by cells without one.</summary>
        (string H, string C) Next(OnnxGraphBuilder g, string projected, string h, string c, int t);
    }

    /// <summary>LN-LSTM: gates = LN(W_ih x) + LN(W_hh h) + b; c' = σ(f)c + σ(i)tanh(g); h' = σ(o)tanh(LN(c')).</summary>
    private sealed class LnLstmStep : IStep
    {
        private readonly int _h;
        private readonly float _eps;
        private readonly string _whh, _bias, _ihW, _ihB, _hhW, _hhB, _cW, _cB;

        public LnLstmStep(OnnxGraphBuilder g, LnLstmCell cell)
        {
            (WeightIh, _h, _eps) = (cell.WeightIh.Value, cell.HiddenSize, cell.Eps);
            _whh = g.Weight("weight_hh_t", Shapes.Transpose(cell.WeightHh.Value), _h, 4 * _h);
            _bias = g.Weight("bias", cell.Bias.Value);
            (_ihW, _ihB) = (g.Weight("ln_ih_weight", cell.LnIhWeight.Value), g.Weight("ln_ih_bias", cell.LnIhBias.Value));
            (_hhW, _hhB) = (g.Weight("ln_hh_weight", cell.LnHhWeight.Value), g.Weight("ln_hh_bias", cell.LnHhBias.Value));
            (_cW, _cB) = (g.Weight("ln_c_weight", cell.LnCWeight.Value), g.Weight("ln_c_bias", cell.LnCBias.Value));
        }

        public Tensors.Tensor WeightIh { get; }

        public (string H, string C) Next(OnnxGraphBuilder g, string projected, string h, string c, int t)
        {
            var fromState = LayerNorm(g, g.MatMul(h, _whh), _hhW, _hhB, _eps);
            var pre = g.Add(g.Add(fromState, LayerNorm(g, projected, _ihW, _ihB, _eps)), _bias);
            return LstmUpdate(g, pre, c, _h, cNext => LayerNorm(g, cNext, _cW, _cB, _eps));
        }
    }

    /// <summary>
    /// LN-GRU: W_ih x and W_hh h are each layer-normalized in two blocks (reset/update 2H, candidate H) before
    /// their biases; then the GRU gates.
    /// </summary>
    private sealed class LnGruStep : IStep
    {
        private readonly int _h;
        private readonly float _eps;
        private readonly string _whh, _bIh, _bHh;
        private readonly string[] _ih, _hh;

        public LnGruStep(OnnxGraphBuilder g, LnGruCell cell)
        {
            (WeightIh, _h, _eps) = (cell.WeightIh.Value, cell.HiddenSize, cell.Eps);
            _whh = g.Weight("weight_hh_t", Shapes.Transpose(cell.WeightHh.Value), _h, 3 * _h);
            (_bIh, _bHh) = (g.Weight("bias_ih", cell.BiasIh.Value), g.Weight("bias_hh", cell.BiasHh.Value));
            _ih = BlockParameters(g, "ln_ih", cell.LnIhWeight.Value, cell.LnIhBias.Value, _h);
            _hh = BlockParameters(g, "ln_hh", cell.LnHhWeight.Value, cell.LnHhBias.Value, _h);
        }

        public Tensors.Tensor WeightIh { get; }

        public (string H, string C) Next(OnnxGraphBuilder g, string projected, string h, string c, int t)
        {
            var x = g.Add(NormalizeBlocks(g, projected, _ih), _bIh);
            var hp = g.Add(NormalizeBlocks(g, g.MatMul(h, _whh), _hh), _bHh);
            var xs = g.Split(x, 1, _h, _h, _h);
            var hs = g.Split(hp, 1, _h, _h, _h);
            var r = g.Sigmoid(g.Add(xs[0], hs[0]));
            var z = g.Sigmoid(g.Add(xs[1], hs[1]));
            var n = g.Tanh(g.Add(xs[2], g.Mul(r, hs[2])));
            // (1 − z)·n + z·h written as n + z·(h − n), as the cell computes it.
            return (g.Add(n, g.Mul(z, g.Sub(h, n))), c);
        }

        private string NormalizeBlocks(OnnxGraphBuilder g, string p, string[] parameters)
        {
            var blocks = g.Split(p, 1, 2 * _h, _h);
            return g.Concat(1, LayerNorm(g, blocks[0], parameters[0], parameters[1], _eps), LayerNorm(g, blocks[1], parameters[2], parameters[3], _eps));
        }

        /// <summary>Gain and shift of the reset/update block, then of the candidate block.</summary>
        private static string[] BlockParameters(OnnxGraphBuilder g, string name, Tensors.Tensor weight, Tensors.Tensor bias, int h) =>
        [
            g.Weight(name + "_weight.gates", weight.Span[..(2 * h)], 2 * h), g.Weight(name + "_bias.gates", bias.Span[..(2 * h)], 2 * h),
            g.Weight(name + "_weight.candidate", weight.Span[(2 * h)..], h), g.Weight(name + "_bias.candidate", bias.Span[(2 * h)..], h),
        ];
    }

    /// <summary>
    /// BN-LSTM in evaluation: each step normalizes with the running statistics of its own time step (a step past
    /// those seen in training reuses the last), exactly as <see cref="BnLstmCell"/> does.
    /// </summary>
    private sealed class BnLstmStep : IStep
    {
        private readonly BnLstmCell _cell;
        private readonly int _h;
        private readonly string _whh, _bias, _ihW, _hhW, _cW, _cB, _zeros;
        private readonly Dictionary<int, string[]> _statistics = new();
        private readonly Dictionary<string, Tensors.Tensor> _buffers;

        public BnLstmStep(OnnxGraphBuilder g, BnLstmCell cell)
        {
            (_cell, WeightIh, _h) = (cell, cell.WeightIh.Value, cell.HiddenSize);
            _whh = g.Weight("weight_hh_t", Shapes.Transpose(cell.WeightHh.Value), _h, 4 * _h);
            _bias = g.Weight("bias", cell.Bias.Value);
            (_ihW, _hhW) = (g.Weight("bn_ih_weight", cell.BnIhWeight.Value), g.Weight("bn_hh_weight", cell.BnHhWeight.Value));
            (_cW, _cB) = (g.Weight("bn_c_weight", cell.BnCWeight.Value), g.Weight("bn_c_bias", cell.BnCBias.Value));
            _zeros = g.Filled("bn_shift", 0f, 4 * _h);
            _buffers = cell.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer, StringComparer.Ordinal);
        }

        public Tensors.Tensor WeightIh { get; }

        public (string H, string C) Next(OnnxGraphBuilder g, string projected, string h, string c, int t)
        {
            int s = Math.Min(t, Math.Max(_cell.StepsSeen, 1) - 1);
            var stats = Statistics(g, s);
            var fromInput = BatchNorm(g, projected, _ihW, _zeros, stats[0], stats[1]);
            var fromState = BatchNorm(g, g.MatMul(h, _whh), _hhW, _zeros, stats[2], stats[3]);
            var pre = g.Add(g.Add(fromInput, fromState), _bias);
            return LstmUpdate(g, pre, c, _h, cNext => BatchNorm(g, cNext, _cW, _cB, stats[4], stats[5]));
        }

        private string[] Statistics(OnnxGraphBuilder g, int s)
        {
            if (_statistics.TryGetValue(s, out var names)) return names;
            string[] keys = ["running_ih_mean", "running_ih_var", "running_hh_mean", "running_hh_var", "running_c_mean", "running_c_var"];
            names = keys.Select(k => g.Weight($"{k}.{s}", Buffer($"{k}.{s}"))).ToArray();
            _statistics.Add(s, names);
            return names;
        }

        private Tensors.Tensor Buffer(string name) =>
            _buffers.TryGetValue(name, out var t) ? t : throw new InvalidOperationException($"BnLstmCell has no buffer '{name}'.");

        private static string BatchNorm(OnnxGraphBuilder g, string x, string scale, string shift, string mean, string variance) =>
            g.Op("BatchNormalization", [x, scale, shift, mean, variance], ("epsilon", BatchNormEps));
    }

    /// <summary>The LSTM state update from pre-activations [B, 4H] (i, f, g, o): c' = σ(f)c + σ(i)tanh(g), h' = σ(o)·tanh(norm(c')).</summary>
    private static (string H, string C) LstmUpdate(OnnxGraphBuilder g, string pre, string c, int h, Func<string, string> cellNorm)
    {
        var parts = g.Split(pre, 1, h, h, h, h);
        var i = g.Sigmoid(parts[0]);
        var f = g.Sigmoid(parts[1]);
        var candidate = g.Tanh(parts[2]);
        var o = g.Sigmoid(parts[3]);
        var cNext = g.Add(g.Mul(f, c), g.Mul(i, candidate));
        return (g.Mul(o, g.Tanh(cellNorm(cNext))), cNext);
    }

    private static string LayerNorm(OnnxGraphBuilder g, string x, string weight, string bias, float eps) =>
        g.LayerNormalization(x, 1, weight, bias, eps);
}
