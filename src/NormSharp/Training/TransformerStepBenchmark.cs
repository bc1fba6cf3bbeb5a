using System.Diagnostics;
using NormSharp.Autograd;
using NormSharp.Kernels;
using NormSharp.Kernels.Attention;
using NormSharp.Layers;
using NormSharp.Layers.Transformer;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Training;

/// <summary>
/// Measures training steps of a decoder-only Transformer language model (forward, backward, AdamW) on random
/// tokens: tokens per second, the bytes allocated per steady-state step, and what the step's time goes to. The
/// share of the matrix products and of attention is measured by running exactly the step's GEMMs, and its
/// attention kernels, on their own in rounds that alternate with whole steps, so all three see the same load.
/// </summary>
public static class TransformerStepBenchmark
{
    /// <summary>One model and batch to measure.</summary>
    /// <param name="DModel">Width of the residual stream.</param>
    /// <param name="Layers">Blocks.</param>
    /// <param name="Heads">Attention heads.</param>
    /// <param name="Context">Tokens per sequence.</param>
    /// <param name="BatchSize">Sequences per step.</param>
    /// <param name="FeedForward">Feed-forward width.</param>
    /// <param name="NormFirst">Pre-LN (true) or Post-LN.</param>
    /// <param name="Norm">The blocks' normalization.</param>
    /// <param name="Vocabulary">Token ids (96: printable ASCII and a few more, the scale of a character corpus).</param>
    public sealed record Case(int DModel, int Layers, int Heads, int Context, int BatchSize, int FeedForward, bool NormFirst, NormKind Norm, int Vocabulary = 96)
    {
        /// <summary>"pre" or "post".</summary>
        public string NormPosition => NormFirst ? "pre" : "post";
    }

    /// <summary>The measurements of one case.</summary>
    /// <param name="Case">What was measured.</param>
    /// <param name="TokensPerSecond">Training tokens per second, median over rounds.</param>
    /// <param name="StepMilliseconds">Median time of one step.</param>
    /// <param name="AllocatedBytesPerStep">Managed bytes allocated per step on the training thread, over all timed steps.</param>
    /// <param name="GemmMilliseconds">Median time of the step's matrix products run on their own.</param>
    /// <param name="AttentionMilliseconds">Median time of the step's attention kernels (forward and backward) run on their own.</param>
    /// <param name="CpuMillisecondsPerStep">
    /// Processor time the whole process spent per step over the timed steps (every thread; with more than one, the
    /// pool's brief spin-waits count too). On a machine shared with other work it stays close to the work done
    /// while wall time stretches with the load.
    /// </param>
    public sealed record Result(Case Case, double TokensPerSecond, double StepMilliseconds, double AllocatedBytesPerStep, double GemmMilliseconds, double AttentionMilliseconds, double CpuMillisecondsPerStep)
    {
        /// <summary>Training tokens per second of processor time.</summary>
        public double TokensPerCpuSecond => Case.BatchSize * Case.Context / (CpuMillisecondsPerStep / 1000);

        /// <summary>Share of the step spent in matrix products.</summary>
        public double GemmFraction => GemmMilliseconds / StepMilliseconds;

        /// <summary>Share of the step spent in the attention kernels.</summary>
        public double AttentionFraction => AttentionMilliseconds / StepMilliseconds;
    }

    /// <summary>The cases of <c>bench transformer</c>: d_model 128, 4 layers, 4 heads, context 128, batch 16, feed-forward 512; Pre-LN with LayerNorm and RMSNorm, and Post-LN with LayerNorm.</summary>
    public static IReadOnlyList<Case> DefaultCases { get; } =
    [
        new(128, 4, 4, 128, 16, 512, NormFirst: true, NormKind.Layer),
        new(128, 4, 4, 128, 16, 512, NormFirst: true, NormKind.Rms),
        new(128, 4, 4, 128, 16, 512, NormFirst: false, NormKind.Layer),
    ];

    /// <summary>Runs warm-up steps, then at least <paramref name="minTime"/> of rounds alternating whole steps, the GEMMs alone and attention alone.</summary>
    public static Result Run(Case c, TimeSpan minTime, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(c);
        var runner = new StepRunner(c, seed);
        void Step() => runner.Step();
        int tokens = c.BatchSize * c.Context;
        var rng = new Rng(seed + 1);
        var gemms = new StepGemms(c, rng);
        var attention = new StepAttention(c, rng);

        for (int i = 0; i < 3; i++) { Step(); gemms.Run(); attention.Run(); }
        var probe = Stopwatch.StartNew();
        int probeSteps = 0;
        while (probe.Elapsed < TimeSpan.FromMilliseconds(300) || probeSteps < 2) { Step(); probeSteps++; }
        double perStep = probe.Elapsed.TotalSeconds / probeSteps;
        // A round of whole steps lasts about a tenth of the time asked for (at least one step).
        int roundSteps = Math.Max(1, (int)(minTime.TotalSeconds / 10 / perStep));

        var steps = new List<double>();
        var gemmTimes = new List<double>();
        var attentionTimes = new List<double>();
        long allocated = 0, stepsRun = 0;
        var cpu = TimeSpan.Zero;
        var total = Stopwatch.StartNew();
        while (steps.Count < 3 || total.Elapsed < minTime)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < roundSteps; i++) Step();
            sw.Stop();
            cpu += Environment.CpuUsage.TotalTime - cpuBefore;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            stepsRun += roundSteps;
            steps.Add(sw.Elapsed.TotalMilliseconds / roundSteps);
            gemmTimes.Add(TimeEach(gemms.Run, roundSteps));
            attentionTimes.Add(TimeEach(attention.Run, roundSteps));
        }
        double step = Median(steps);
        return new Result(c, tokens / (step / 1000), step, (double)allocated / stepsRun, Median(gemmTimes), Median(attentionTimes), cpu.TotalMilliseconds / stepsRun);
    }

    /// <summary>
    /// The processor time per training step of two cases measured in alternating rounds of
    /// <paramref name="stepsPerRound"/> steps (so both see the same load), median over <paramref name="rounds"/> rounds
    /// each, after warm-up steps: for comparing, say, RMSNorm against LayerNorm in the same model.
    /// </summary>
    public static (double FirstMilliseconds, double SecondMilliseconds) CompareSteps(Case first, Case second, int rounds, int stepsPerRound, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (rounds < 1 || stepsPerRound < 1) throw new Errors.InvalidValueException(nameof(rounds), $"CompareSteps: rounds and steps per round must be positive, got {rounds} and {stepsPerRound}.");
        var a = new StepRunner(first, seed);
        var b = new StepRunner(second, seed);
        for (int i = 0; i < 3; i++) { a.Step(); b.Step(); }
        var ta = new List<double>();
        var tb = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            ta.Add(CpuPerStep(a, stepsPerRound));
            tb.Add(CpuPerStep(b, stepsPerRound));
        }
        return (Median(ta), Median(tb));
    }

    private static double CpuPerStep(StepRunner runner, int steps)
    {
        var before = Environment.CpuUsage.TotalTime;
        for (int i = 0; i < steps; i++) runner.Step();
        return (Environment.CpuUsage.TotalTime - before).TotalMilliseconds / steps;
    }

    /// <summary>One case's model, optimizer and random batch, ready to take training steps.</summary>
    private sealed class StepRunner
    {
        private readonly TransformerLanguageModel _model;
        private readonly AdamW _optimizer;
        private readonly int[] _inputs, _targets;
        private readonly int _batch;

        public StepRunner(Case c, ulong seed)
        {
            var rng = new Rng(seed);
            _model = new TransformerLanguageModel(new TransformerLanguageModelOptions
            {
                VocabularySize = c.Vocabulary, ContextLength = c.Context, DModel = c.DModel, Layers = c.Layers, Heads = c.Heads,
                FeedForward = c.FeedForward, NormFirst = c.NormFirst, Norm = c.Norm,
            }, rng);
            _optimizer = new AdamW(_model.Parameters(), lr: 1e-3);
            _batch = c.BatchSize;
            _inputs = new int[c.BatchSize * c.Context];
            _targets = new int[_inputs.Length];
            for (int i = 0; i < _inputs.Length; i++)
            {
                _inputs[i] = rng.NextInt(c.Vocabulary);
                _targets[i] = rng.NextInt(c.Vocabulary);
            }
        }

        public void Step()
        {
            _optimizer.ZeroGrad();
            _model.Loss(_inputs, _targets, _batch).Backward();
            _optimizer.Step();
        }
    }

    private static double TimeEach(Action action, int times)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < times; i++) action();
        return sw.Elapsed.TotalMilliseconds / times;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    /// <summary>Every matrix product of one training step of the case's model, on buffers of its shapes.</summary>
    private sealed class StepGemms
    {
        private readonly List<(int Rows, int In, int Out)> _linears = new();
        private readonly float[] _x, _y, _w, _dx, _dw;

        public StepGemms(Case c, Rng rng)
        {
            int rows = c.BatchSize * c.Context, d = c.DModel;
            for (int l = 0; l < c.Layers; l++)
            {
                _linears.Add((rows, d, 3 * d));          // in_proj
                _linears.Add((rows, d, d));              // out_proj
                _linears.Add((rows, d, c.FeedForward));  // linear1
                _linears.Add((rows, c.FeedForward, d));  // linear2
            }
            _linears.Add((rows, d, c.Vocabulary));       // tied output projection
            int most = _linears.Max(s => s.Rows * Math.Max(s.In, s.Out));
            int weights = _linears.Max(s => s.In * s.Out);
            _x = new float[most];
            _y = new float[most];
            _dx = new float[most];
            _w = new float[weights];
            _dw = new float[weights];
            rng.FillUniform(_x, -1f, 1f);
            rng.FillUniform(_y, -1f, 1f);
            rng.FillUniform(_w, -0.1f, 0.1f);
        }

        /// <summary>Forward, input gradient and weight gradient of every Linear, as F.Linear computes them.</summary>
        public void Run()
        {
            foreach (var (rows, inF, outF) in _linears)
            {
                Gemm.Multiply(false, true, rows, outF, inF, 1f, _x.AsSpan(0, rows * inF), _w.AsSpan(0, outF * inF), 0f, _dx.AsSpan(0, rows * outF));
                Gemm.Multiply(false, false, rows, inF, outF, 1f, _y.AsSpan(0, rows * outF), _w.AsSpan(0, outF * inF), 0f, _dx.AsSpan(0, rows * inF));
                Gemm.Multiply(true, false, outF, inF, rows, 1f, _y.AsSpan(0, rows * outF), _x.AsSpan(0, rows * inF), 1f, _dw.AsSpan(0, outF * inF));
            }
        }
    }

    /// <summary>The attention kernels of one training step (every layer's forward and backward) on buffers of its shapes.</summary>
    private sealed class StepAttention
    {
        private readonly AttentionShape _shape;
        private readonly AttentionOptions _options;
        private readonly AttentionLayout _in, _out;
        private readonly float[] _qkv, _o, _do, _dqkv, _lse;
        private readonly int _layers, _width;

        public StepAttention(Case c, Rng rng)
        {
            int d = c.DModel;
            _width = d;
            _layers = c.Layers;
            _shape = AttentionShape.SelfAttention(c.BatchSize, c.Heads, c.Context, d / c.Heads);
            _options = new AttentionOptions(true, AttentionOptions.DefaultScale(d / c.Heads));
            _in = AttentionLayout.Interleaved(c.BatchSize, c.Context, 3 * d, d / c.Heads);
            _out = AttentionLayout.Interleaved(c.BatchSize, c.Context, d, d / c.Heads);
            int rows = c.BatchSize * c.Context;
            _qkv = new float[rows * 3 * d];
            _dqkv = new float[rows * 3 * d];
            _o = new float[rows * d];
            _do = new float[rows * d];
            _lse = new float[_shape.LogSumExpLength];
            rng.FillUniform(_qkv, -1f, 1f);
            rng.FillUniform(_do, -1f, 1f);
        }

        public void Run()
        {
            int d = _width;
            for (int l = 0; l < _layers; l++)
            {
                AttentionKernels.Forward(_shape, _options, _qkv, _in, _qkv.AsSpan(d), _qkv.AsSpan(2 * d), _in, _o, _out, _lse);
                AttentionKernels.Backward(_shape, _options, _qkv, _in, _qkv.AsSpan(d), _qkv.AsSpan(2 * d), _in, _o, _do, _out, _lse,
                    _dqkv, _dqkv.AsSpan(d), _dqkv.AsSpan(2 * d));
            }
        }
    }
}
