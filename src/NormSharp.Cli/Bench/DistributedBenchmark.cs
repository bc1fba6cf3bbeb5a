using System.Diagnostics;
using System.Text.Json.Serialization;
using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Data.Text;
using NormSharp.Distributed;
using NormSharp.Layers;
using NormSharp.Layers.Transformer;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Threading;
using NormSharp.Training;

namespace NormSharp.Cli.Bench;

/// <summary>
/// Measures data-parallel training on this process's communicator (or alone): all-reduce bandwidth per message
/// size, and the training step split into compute and communication, with and without overlapping the
/// all-reduce with the backward pass. Every rank runs the same fixed number of iterations (collectives must
/// match); the figures reported are rank 0's.
/// </summary>
internal static class DistributedBenchmark
{
    public sealed record AllReduceCase(
        [property: JsonPropertyName("bytes")] long Bytes,
        [property: JsonPropertyName("seconds")] double Seconds,
        [property: JsonPropertyName("algorithm_gbps")] double AlgorithmGbps,
        [property: JsonPropertyName("bus_gbps")] double BusGbps);

    public sealed record StepCase(
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("ranks")] int Ranks,
        [property: JsonPropertyName("threads_per_rank")] int ThreadsPerRank,
        [property: JsonPropertyName("global_batch")] int GlobalBatch,
        [property: JsonPropertyName("overlap")] bool Overlap,
        [property: JsonPropertyName("step_ms")] double StepMs,
        [property: JsonPropertyName("communication_ms")] double CommunicationMs,
        [property: JsonPropertyName("compute_ms")] double ComputeMs,
        [property: JsonPropertyName("gradient_bytes")] long GradientBytes,
        [property: JsonPropertyName("samples_per_second")] double SamplesPerSecond);

    public sealed record Report(
        [property: JsonPropertyName("all_reduce")] IReadOnlyList<AllReduceCase> AllReduce,
        [property: JsonPropertyName("steps")] IReadOnlyList<StepCase> Steps);

    /// <summary>All-reduce of float buffers of each size: the median over iterations, timed between barriers.</summary>
    public static List<AllReduceCase> MeasureAllReduce(ICommunicator comm, IEnumerable<int> floatCounts, int iterations)
    {
        var cases = new List<AllReduceCase>();
        foreach (int n in floatCounts)
        {
            var buffer = new float[n];
            for (int i = 0; i < 3; i++) comm.AllReduceSum(buffer);
            var samples = new double[iterations];
            for (int i = 0; i < iterations; i++)
            {
                comm.Barrier();
                long t0 = Stopwatch.GetTimestamp();
                comm.AllReduceSum(buffer);
                samples[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }
            Array.Sort(samples);
            double s = samples[iterations / 2];
            long bytes = (long)n * sizeof(float);
            // Bus bandwidth: a ring all-reduce moves 2(N-1)/N of the buffer through each rank's link.
            double factor = comm.Size > 1 ? 2.0 * (comm.Size - 1) / comm.Size : 1;
            cases.Add(new AllReduceCase(bytes, s, bytes / s / 1e9, bytes * factor / s / 1e9));
        }
        return cases;
    }

    /// <summary>
    /// Trains the paper's MLP (784-1000-1000-10 with LayerNorm, Adam) on random data with global batch
    /// <paramref name="globalBatch"/> for <paramref name="steps"/> measured steps after a warm-up.
    /// </summary>
    public static StepCase MeasureSteps(DataParallel? dp, int globalBatch, int steps, int warmup)
    {
        var rng = new Rng(1);
        var model = new Mlp([784, 1000, 1000, 10], NormKind.Layer, rng);
        var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        int total = globalBatch * (steps + warmup);
        var images = Tensor.Zeros(total, 784);
        new Rng(2).FillUniform(images.Span, 0, 1);
        var labels = Enumerable.Range(0, total).Select(i => i % 10).ToArray();
        var loader = new BatchLoader(new Dataset("random", images, labels, 10, 28, 28), globalBatch, seed: 3);
        var trainer = new Trainer<LabeledBatch>(model, optimizer, (m, b) => F.CrossEntropy(m.Forward(Variable.Constant(b.Inputs)), b.Labels))
        {
            DataParallel = dp,
            Splitter = dp is null ? null : LabeledBatchSplitter.Instance,
        };
        return Measure(trainer, loader, "mlp-784-1000-1000-10", dp, globalBatch, warmup);
    }

    /// <summary>
    /// Trains the character-level Transformer of <c>bench transformer</c> (4 Pre-LN blocks, d_model 128, 4 heads,
    /// feed-forward 512, context 128, 96 symbols, AdamW) on random text with <paramref name="globalWindows"/>
    /// windows per step; its samples are windows of 128 tokens.
    /// </summary>
    public static StepCase MeasureTransformerSteps(DataParallel? dp, int globalWindows, int steps, int warmup)
    {
        const int context = 128, vocabulary = 96;
        var model = new TransformerLanguageModel(new TransformerLanguageModelOptions { VocabularySize = vocabulary, ContextLength = context }, new Rng(1));
        var optimizer = new AdamW(ParameterGroups.DecayWeightsOnly(model, 0.01), lr: 1e-3);
        var rng = new Rng(2);
        var tokens = new int[globalWindows * context * (steps + warmup) + 1];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = (int)(rng.NextUInt64() % vocabulary);
        var loader = new CharSequenceLoader(tokens, context, globalWindows, seed: 3);
        var trainer = new Trainer<CharBatch>(model, optimizer,
            (m, b) => new StepLoss(model.Loss(b.InputTokens, b.TargetTokens, b.Count), Samples: b.Count * b.Context))
        {
            DataParallel = dp,
            Splitter = dp is null ? null : CharBatchSplitter.Instance,
        };
        return Measure(trainer, loader, "transformer-4x128-ctx128", dp, globalWindows, warmup);
    }

    private static StepCase Measure<TBatch>(Trainer<TBatch> trainer, IBatchSource<TBatch> loader, string name, DataParallel? dp, int globalBatch, int warmup)
    {
        var timer = new StepTimer(warmup, dp);
        trainer.Add(timer);
        trainer.Fit(loader, epochs: 1);
        double stepMs = timer.Median(timer.Steps), commMs = timer.Median(timer.Communication);
        return new StepCase(name, dp?.Size ?? 1, ParallelFor.MaxThreads, globalBatch, dp?.OverlapCommunication ?? false,
            stepMs, commMs, stepMs - commMs, dp?.LastStep.BytesPerStep ?? 0, globalBatch / (stepMs / 1000));
    }

    /// <summary>Wall time of each step after the warm-up, and the communication part of it.</summary>
    private sealed class StepTimer(int warmup, DataParallel? dp) : ITrainerCallback
    {
        private long _start;

        public List<double> Steps { get; } = [];

        public List<double> Communication { get; } = [];

        public void OnStepStart(StepContext step) => _start = Stopwatch.GetTimestamp();

        public void OnStepEnd(StepContext step)
        {
            if (step.Step <= warmup) return;
            Steps.Add(Stopwatch.GetElapsedTime(_start).TotalMilliseconds);
            Communication.Add(dp?.LastStep.CommunicationTime.TotalMilliseconds ?? 0);
        }

        public double Median(List<double> values)
        {
            if (values.Count == 0) return double.NaN;
            var sorted = values.Order().ToList();
            return sorted[sorted.Count / 2];
        }
    }
}
