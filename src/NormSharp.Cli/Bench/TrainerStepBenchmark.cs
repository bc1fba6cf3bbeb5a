using NormSharp.Threading;
using System.Diagnostics;
using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Cli.Bench;

/// <summary>
/// Measures what users get: the step of the general <see cref="Trainer{TBatch}"/> with its parts (metrics
/// to a CSV file with per-layer gradient norms, NaN guard, divergence detection, progress events) against
/// the bare step (forward, backward, Adam) of an identical model, interleaved round by round in one
/// process so that both see the same machine. Each round of trainer steps is followed by a round of bare
/// steps; the ratio is the median of the per-round ratios.
/// </summary>
internal static class TrainerStepBenchmark
{
    /// <summary>The parts a measured trainer carries.</summary>
    [Flags]
    public enum Parts
    {
        /// <summary>The loop alone: learning rate, loss, backward, update.</summary>
        None = 0,
        /// <summary>metrics.csv with global and per-layer gradient norms.</summary>
        Metrics = 1,
        /// <summary>Non-finite loss and gradient checks.</summary>
        NanGuard = 2,
        /// <summary>The exploding-loss detector.</summary>
        Divergence = 4,
        /// <summary>Progress events, with a subscriber.</summary>
        Progress = 8,
        /// <summary>What <c>normsharp train</c> uses.</summary>
        All = Metrics | NanGuard | Divergence | Progress,
    }

    /// <summary>One configuration measured both ways.</summary>
    /// <param name="BareSamplesPerSecond">Median samples/s of the bare rounds.</param>
    /// <param name="TrainerSamplesPerSecond">Median samples/s of the trainer rounds.</param>
    /// <param name="TrainerOverBare">Median over rounds of (trainer step time / bare step time).</param>
    /// <param name="BareAllocatedBytesPerStep">Bytes allocated per bare step.</param>
    /// <param name="TrainerAllocatedBytesPerStep">Bytes allocated per trainer step, parts included.</param>
    /// <param name="Steps">Steps timed on each path.</param>
    /// <param name="TrainerOverBareCpu">Median over rounds of (trainer / bare) CPU time of the training thread: with one thread, the cost ratio that the machine's other load does not blur (NaN where the clock is unavailable).</param>
    public sealed record Result(double BareSamplesPerSecond, double TrainerSamplesPerSecond, double TrainerOverBare, double BareAllocatedBytesPerStep, double TrainerAllocatedBytesPerStep, long Steps, double TrainerOverBareCpu);

    /// <summary>Measures <paramref name="parts"/> on the MLP of <paramref name="widths"/> with <paramref name="norm"/>.</summary>
    public static Result Run(int[] widths, NormKind norm, int batchSize, TimeSpan minTime, Parts parts = Parts.All, ulong seed = 1)
    {
        var bareModel = new Mlp(widths, norm, new Rng(seed));
        var bareOptimizer = new Adam(bareModel.Parameters(), 1e-3);
        var trainedModel = new Mlp(widths, norm, new Rng(seed));
        var optimizer = new Adam(trainedModel.Parameters(), 1e-3);
        var (x, labels) = BareStepBenchmark.RandomBatch(widths[0], widths[^1], batchSize, new Rng(seed + 1));
        var bareStep = BareStepBenchmark.Step(bareModel, bareOptimizer, x, labels);

        string dir = Directory.CreateTempSubdirectory("normsharp-bench").FullName;
        try
        {
            var trainer = new Trainer<int>(trainedModel, optimizer, (m, _) =>
            {
                var logits = m.Forward(x);
                int correct = Kernels.LossKernels.CountCorrect(logits.Value.Span, labels, batchSize, logits.Value.Dim(1));
                return new StepLoss(F.CrossEntropy(logits, labels), batchSize, correct, batchSize);
            });
            if (parts.HasFlag(Parts.Metrics)) trainer.Add(new MetricsCsvLogger(Path.Combine(dir, "metrics.csv")));
            if (parts.HasFlag(Parts.NanGuard)) trainer.Add(new NanGuard());
            if (parts.HasFlag(Parts.Divergence)) trainer.Add(new DivergenceDetector(Math.Clamp(2048 / batchSize, 20, 1000)));
            long reported = 0;
            if (parts.HasFlag(Parts.Progress))
            {
                var progress = new ProgressReporter();
                progress.Progress += p => reported = p.Step;
                trainer.Add(progress);
            }

            for (int i = 0; i < 20; i++) bareStep();
            var probe = Stopwatch.StartNew();
            int probeSteps = 0;
            while (probe.Elapsed < TimeSpan.FromMilliseconds(200)) { bareStep(); probeSteps++; }
            double perStep = probe.Elapsed.TotalSeconds / probeSteps;
            int roundSteps = Math.Max(10, (int)(minTime.TotalSeconds / 20 / perStep));

            var source = new InterleavingSource(bareStep, roundSteps, minTime, warmupRounds: 2);
            trainer.Fit(source, epochs: 1);
            GC.KeepAlive(reported);
            return source.Result(batchSize);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Hands the trainer the same batch each step and, every <c>roundSteps</c> steps, times the trainer
    /// round that just ended and then a round of bare steps, until enough time has passed.
    /// </summary>
    private sealed class InterleavingSource(Action bareStep, int roundSteps, TimeSpan minTime, int warmupRounds) : IBatchSource<int>
    {
        private readonly List<double> _bareSeconds = [], _trainerSeconds = [], _bareCpu = [], _trainerCpu = [];
        private double _trainerCpuStart;
        private readonly Stopwatch _total = new();
        private long _handed, _trainerStart, _trainerAllocStart, _bareAlloc, _trainerAlloc;
        private int _rounds;

        public int? BatchesPerEpoch => null;

        public bool TryGetNext(out int batch)
        {
            batch = 0;
            if (_handed % roundSteps == 0)
            {
                long now = Stopwatch.GetTimestamp(), alloc = GC.GetAllocatedBytesForCurrentThread();
                double cpu = ThreadCpuTime.Seconds();
                if (_handed > 0 && _rounds++ >= warmupRounds)
                {
                    _trainerSeconds.Add(Stopwatch.GetElapsedTime(_trainerStart, now).TotalSeconds);
                    _trainerCpu.Add(cpu - _trainerCpuStart);
                    _trainerAlloc += alloc - _trainerAllocStart;
                    if (!_total.IsRunning) _total.Start();
                }
                if (_trainerSeconds.Count >= 5 && _total.Elapsed >= minTime) return false;
                long bareAllocStart = GC.GetAllocatedBytesForCurrentThread();
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < roundSteps; i++) bareStep();
                double bare = Stopwatch.GetElapsedTime(start).TotalSeconds;
                long bareAllocEnd = GC.GetAllocatedBytesForCurrentThread();
                double cpuAfterBare = ThreadCpuTime.Seconds();
                if (_handed > 0 && _rounds > warmupRounds)
                {
                    _bareSeconds.Add(bare);
                    _bareCpu.Add(cpuAfterBare - cpu);
                    _bareAlloc += bareAllocEnd - bareAllocStart;
                }
                _trainerCpuStart = cpuAfterBare;
                _trainerAllocStart = GC.GetAllocatedBytesForCurrentThread();
                _trainerStart = Stopwatch.GetTimestamp();
            }
            _handed++;
            return true;
        }

        public Result Result(int batchSize)
        {
            int n = Math.Min(_bareSeconds.Count, _trainerSeconds.Count);
            double Median(IEnumerable<double> xs)
            {
                var s = xs.Order().ToArray();
                return s.Length == 0 ? double.NaN : s[s.Length / 2];
            }
            double bare = Median(_bareSeconds.Take(n));
            double trainer = Median(_trainerSeconds.Take(n));
            double ratio = Median(Enumerable.Range(0, n).Select(i => _trainerSeconds[i] / _bareSeconds[i]));
            long steps = (long)n * roundSteps;
            double cpuRatio = Median(Enumerable.Range(0, n).Select(i => _trainerCpu[i] / _bareCpu[i]));
            return new Result(roundSteps * batchSize / bare, roundSteps * batchSize / trainer, ratio, (double)_bareAlloc / steps, (double)_trainerAlloc / steps, steps, cpuRatio);
        }
    }
}
