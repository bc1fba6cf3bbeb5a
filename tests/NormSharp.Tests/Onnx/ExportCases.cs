using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Tests.Onnx;

/// <summary>
/// Every model kind the library has, built small with non-trivial parameters (random gains and shifts, batch
/// norms with running statistics from a few training batches), with the input shapes each is run at.
/// </summary>
internal static class ExportCases
{
    /// <param name="Build">Makes the model, ready to export.</param>
    /// <param name="Inputs">Shapes to run the exported model at (several batch sizes, and sequence lengths where they may vary).</param>
    /// <param name="ExportShape">The input shape given to the exporter, or null to let it infer one.</param>
    /// <param name="OpsetSensitive">Whether the graph differs between operator sets (then every supported set is tested).</param>
    /// <param name="InputMean">Mean of the inputs (large to check that no statistic cancels).</param>
    /// <param name="Vocabulary">For a language model: inputs are token ids below this (0: real-valued inputs).</param>
    public sealed record Case(Func<Module> Build, int[][] Inputs, int[]? ExportShape = null, bool OpsetSensitive = false, float InputMean = 0.3f, int Vocabulary = 0)
    {
        /// <summary>The input of <paramref name="shape"/> this case runs at, drawn with <paramref name="seed"/>.</summary>
        public Tensor Input(int[] shape, ulong seed)
        {
            if (Vocabulary == 0) return ExportCases.Input(shape, seed, InputMean);
            var t = Tensor.Zeros(shape);
            var rng = new Rng(seed);
            var span = t.Span;
            for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextUInt64() % (ulong)Vocabulary);
            return t;
        }
    }

    public static readonly IReadOnlyDictionary<string, Case> All = new Dictionary<string, Case>
    {
        ["mlp-layernorm-relu"] = new(() => Randomized(new Mlp([12, 32, 32, 10], NormKind.Layer, new Rng(1))), [[3, 12], [7, 12]]),
        ["mlp-rmsnorm-gelu"] = new(() => Randomized(new Mlp([12, 24, 24, 5], NormKind.Rms, new Rng(2), F.Activation.Gelu)), [[3, 12], [1, 12]], OpsetSensitive: true),
        ["mlp-layernorm-gelu-tanh"] = new(() => Randomized(new Mlp([12, 24, 5], NormKind.Layer, new Rng(31), F.Activation.GeluTanh)), [[3, 12]], OpsetSensitive: true),
        ["mlp-silu"] = new(() => new Mlp([12, 16, 4], NormKind.None, new Rng(32), F.Activation.Silu), [[3, 12], [1, 12]]),
        ["mlp-batchnorm-tanh"] = new(() => Trained(Randomized(new Mlp([12, 24, 5], NormKind.Batch, new Rng(3), F.Activation.Tanh)), [8, 12]), [[3, 12], [5, 12]]),
        ["mlp-sigmoid-dropout"] = new(() => new Mlp([12, 16, 16, 4], NormKind.None, new Rng(4), F.Activation.Sigmoid, dropout: 0.3f), [[3, 12], [2, 12]]),
        ["layernorm-two-dims-then-linear"] = new(() => Randomized(new Sequential(new LayerNorm([4, 5]), new Linear(5, 3, new Rng(5)))), [[3, 4, 5], [2, 4, 5]]),
        ["layernorm-large-mean"] = new(() => Randomized(new Sequential(new LayerNorm(64))), [[4, 64]], InputMean: 1000f),
        ["groupnorm-large-mean"] = new(() => Randomized(new Sequential(new GroupNorm(2, 8))), [[3, 8, 16]], [-1, 8, 16], OpsetSensitive: true, InputMean: 1000f),
        ["batchnorm-batch-statistics-large-mean"] = new(() => Randomized(new Sequential(new BatchNorm1d(6, trackRunningStats: false))), [[16, 6]], OpsetSensitive: true, InputMean: 1000f),
        ["batchnorm-running-statistics-large-mean"] = new(() => Trained(Randomized(new Sequential(new BatchNorm1d(6))), [16, 6], 1000f), [[5, 6]], InputMean: 1000f),
        ["ln-lstm-large-mean-inputs"] = new(() => Randomized(new RecurrentLayer(CellKind.LnLstm, 5, 7, new Rng(21))), [[4, 3, 5]], [4, -1, 5], InputMean: 1000f),
        ["layernorm-no-affine"] = new(() => new Sequential(new LayerNorm(8, elementwiseAffine: false)), [[3, 8], [6, 8]]),
        ["layernorm-no-bias"] = new(() => Randomized(new Sequential(new LayerNorm(8, bias: false))), [[3, 8]]),
        ["rmsnorm-two-dims-no-affine"] = new(() => new Sequential(new RmsNorm([3, 4], elementwiseAffine: false)), [[2, 3, 4], [5, 3, 4]], OpsetSensitive: true),
        ["batchnorm-channels-and-length"] = new(() => Trained(Randomized(new Sequential(new BatchNorm1d(6))), [8, 6, 5]), [[3, 6, 5], [1, 6, 5]], [-1, 6, 5]),
        ["mlp-sync-batchnorm"] = new(() => Trained(Randomized(new Mlp([12, 24, 5], NormKind.SyncBatch, new Rng(4))), [8, 12]), [[3, 12], [1, 12]]),
        ["batchnorm-no-affine"] = new(() => Trained(new Sequential(new BatchNorm1d(6, affine: false)), [8, 6]), [[3, 6]]),
        ["batchnorm-batch-statistics"] = new(() => Randomized(new Sequential(new BatchNorm1d(6, trackRunningStats: false))), [[4, 6, 3], [7, 6, 3]], [-1, 6, 3], OpsetSensitive: true),
        ["groupnorm-features"] = new(() => Randomized(new Sequential(new GroupNorm(3, 12))), [[3, 12], [2, 12]], OpsetSensitive: true),
        ["groupnorm-channels-and-length"] = new(() => Randomized(new Sequential(new GroupNorm(2, 6))), [[3, 6, 5], [1, 6, 5]], [-1, 6, 5], OpsetSensitive: true),
        ["groupnorm-no-affine"] = new(() => new Sequential(new GroupNorm(4, 8, affine: false)), [[3, 8, 3]], [-1, 8, 3], OpsetSensitive: true),
        ["weightnorm-linear"] = new(() => Randomized(new Sequential(new WeightNormLinear(12, 8, new Rng(6)), new ReLU(), new Linear(8, 3, new Rng(7)))), [[3, 12], [4, 12]]),
        ["lstm-time-first"] = new(() => new RecurrentLayer(CellKind.Lstm, 5, 7, new Rng(8)), [[6, 3, 5], [4, 2, 5]]),
        ["lstm-two-layers-batch-first"] = new(() => new RecurrentLayer(CellKind.Lstm, 5, 7, new Rng(9), layers: 2, batchFirst: true), [[3, 6, 5], [2, 9, 5]]),
        ["gru-two-layers"] = new(() => new RecurrentLayer(CellKind.Gru, 5, 7, new Rng(10), layers: 2), [[6, 3, 5], [3, 1, 5]]),
        ["rnn"] = new(() => new RecurrentLayer(CellKind.Rnn, 5, 7, new Rng(11)), [[6, 3, 5], [2, 4, 5]]),
        ["ln-lstm-two-layers"] = new(() => Randomized(new RecurrentLayer(CellKind.LnLstm, 5, 7, new Rng(12), layers: 2)), [[6, 3, 5], [6, 1, 5]], [6, -1, 5]),
        ["ln-gru-batch-first"] = new(() => Randomized(new RecurrentLayer(CellKind.LnGru, 5, 7, new Rng(13), batchFirst: true)), [[3, 6, 5], [2, 6, 5]], [-1, 6, 5]),
        ["bn-lstm-beyond-trained-steps"] = new(() => TrainedSequence(new RecurrentLayer(CellKind.BnLstm, 5, 7, new Rng(14), maxSteps: 4), [4, 8, 5]), [[6, 3, 5], [6, 2, 5]], [6, -1, 5]),
        ["torch-lstm-two-layers-bidirectional-batch-first"] = new(() => new Lstm(5, 7, new Rng(33), numLayers: 2, batchFirst: true, bidirectional: true), [[3, 6, 5], [1, 4, 5]]),
        ["torch-gru-bidirectional"] = new(() => new Gru(5, 7, new Rng(34), bidirectional: true), [[6, 3, 5], [2, 1, 5]]),
        ["torch-rnn-two-layers-no-bias"] = new(() => new Rnn(5, 7, new Rng(35), numLayers: 2, bias: false, dropout: 0.2f), [[6, 3, 5]]),
        ["transformer-lm-pre-ln-tied"] = new(() => Randomized(new NormSharp.Layers.Transformer.TransformerLanguageModel(new() { VocabularySize = 11, ContextLength = 8, DModel = 16, Layers = 2, Heads = 4, FeedForward = 32 }, new Rng(36)), 0.2f), [[2, 8], [1, 3]], Vocabulary: 11),
        ["transformer-lm-post-ln-rms-sinusoidal-untied"] = new(() => Randomized(new NormSharp.Layers.Transformer.TransformerLanguageModel(new() { VocabularySize = 9, ContextLength = 6, DModel = 8, Layers = 1, Heads = 2, FeedForward = 16, NormFirst = false, Norm = NormKind.Rms, Positional = NormSharp.Layers.Transformer.PositionalEncodingKind.Sinusoidal, TieWeights = false }, new Rng(37)), 0.2f), [[3, 6], [2, 1]], Vocabulary: 9),
        ["rnn-lm-lstm-two-layers"] = new(() => Randomized(new RecurrentLanguageModel(CellKind.Lstm, 10, 6, 8, 7, new Rng(38), layers: 2), 0.5f), [[2, 7], [3, 2]], Vocabulary: 10),
        ["rnn-lm-ln-lstm-fixed-length"] = new(() => Randomized(new RecurrentLanguageModel(CellKind.LnLstm, 10, 6, 8, 7, new Rng(39)), 0.5f), [[2, 5], [1, 5]], [-1, 5], Vocabulary: 10),
        ["cell-lstm-one-step"] = new(() => new LstmCell(5, 7, new Rng(22), forgetBias: 1f), [[3, 5], [1, 5]]),
        ["cell-gru-one-step"] = new(() => new GruCell(5, 7, new Rng(23)), [[3, 5]]),
        ["cell-rnn-one-step"] = new(() => new RnnCell(5, 7, new Rng(24)), [[3, 5]]),
        ["cell-ln-lstm-one-step"] = new(() => Randomized(new LnLstmCell(5, 7, new Rng(25))), [[3, 5], [2, 5]]),
        ["cell-ln-gru-one-step"] = new(() => Randomized(new LnGruCell(5, 7, new Rng(26))), [[3, 5]]),
        ["cell-bn-lstm-one-step"] = new(() => Trained(new BnLstmCell(5, 7, new Rng(27), maxSteps: 2), [8, 5]), [[3, 5]]),
        ["classifier-lstm-rows"] = new(() => new SequenceClassifier(CellKind.Lstm, SequenceReading.Rows, 4, 5, 6, 3, new Rng(15)), [[3, 20], [1, 20]]),
        ["classifier-gru-permuted-pixels"] = new(() => new SequenceClassifier(CellKind.Gru, SequenceReading.PermutedPixels, 4, 5, 6, 3, new Rng(16)), [[3, 20]]),
        ["classifier-rnn-pixels"] = new(() => new SequenceClassifier(CellKind.Rnn, SequenceReading.Pixels, 4, 5, 6, 3, new Rng(17)), [[3, 20]]),
        ["classifier-ln-lstm-rows"] = new(() => Randomized(new SequenceClassifier(CellKind.LnLstm, SequenceReading.Rows, 4, 5, 6, 3, new Rng(18), layers: 2)), [[3, 20], [2, 20]]),
        ["classifier-ln-gru-pixels"] = new(() => Randomized(new SequenceClassifier(CellKind.LnGru, SequenceReading.Pixels, 4, 5, 6, 3, new Rng(19))), [[3, 20]]),
        ["transformer-pre-ln-causal"] = new(() => Randomized(new NormSharp.Layers.Transformer.TransformerEncoderLayer(8, 2, new Rng(41), 12, activation: F.Activation.Gelu, batchFirst: true, normFirst: true) { IsCausal = true }), [[3, 5, 8], [1, 9, 8]], OpsetSensitive: true),
        ["transformer-post-rms-seq-first"] = new(() => Randomized(new NormSharp.Layers.Transformer.TransformerEncoderLayer(8, 4, new Rng(42), 12, norm: NormKind.Rms)), [[5, 3, 8], [2, 1, 8]], OpsetSensitive: true),
        ["transformer-no-norm-gelu-tanh-causal"] = new(() => new NormSharp.Layers.Transformer.TransformerEncoderLayer(8, 2, new Rng(43), 12, activation: F.Activation.GeluTanh, batchFirst: true, norm: NormKind.None) { IsCausal = true }, [[2, 6, 8]], OpsetSensitive: true),
        ["multihead-attention-seq-first"] = new(() => Randomized(new NormSharp.Layers.Transformer.MultiheadAttention(6, 3, new Rng(44))), [[4, 2, 6], [7, 1, 6]]),
        ["classifier-bn-lstm-rows"] = new(() => TrainedFlat(new SequenceClassifier(CellKind.BnLstm, SequenceReading.Rows, 4, 5, 6, 3, new Rng(20)), [8, 20]), [[3, 20]]),
    };

    /// <summary>An input of <paramref name="shape"/> drawn from N(<paramref name="mean"/>, 1.5²).</summary>
    public static Tensor Input(int[] shape, ulong seed, float mean = 0.3f)
    {
        var t = Tensor.Zeros(shape);
        new Rng(seed).FillNormal(t.Span, mean, 1.5f);
        return t;
    }

    /// <summary>Every parameter redrawn from U(−1, 1) + 0.5 (gains away from 1, shifts away from 0), so the export of each one is checked.</summary>
    private static T Randomized<T>(T model, float scale = 1f) where T : Module
    {
        var rng = new Rng(99);
        foreach (var (_, p) in model.NamedParameters()) rng.FillUniform(p.Value.Span, -0.5f * scale, 1.5f * scale);
        return model;
    }

    /// <summary>Runs a few training-mode batches so batch norms hold running statistics of their own, then switches to evaluation.</summary>
    private static T Trained<T>(T model, int[] batchShape, float mean = 0.3f) where T : Module
    {
        model.Train();
        using (GradMode.NoGrad())
            for (int i = 0; i < 4; i++) model.Forward(Variable.Constant(Input(batchShape, 100 + (ulong)i, mean)));
        model.Eval();
        return model;
    }

    private static RecurrentLayer TrainedSequence(RecurrentLayer layer, int[] batchShape) => Trained(layer, batchShape);

    private static SequenceClassifier TrainedFlat(SequenceClassifier model, int[] batchShape) => Trained(model, batchShape);
}
