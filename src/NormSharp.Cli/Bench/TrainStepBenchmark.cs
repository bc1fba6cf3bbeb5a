using System.Diagnostics;
using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Training;

/// <summary>
/// Measures whole training steps (forward, backward, Adam update) of an MLP on random data: the
/// throughput and the bytes allocated per steady-state step.
/// </summary>
public static class TrainStepBenchmark
{
    /// <summary>One measured configuration.</summary>
    /// <param name="Model">Model description, e.g. mlp-784-1000-1000-10.</param>
    /// <param name="Norm">Normalization of the hidden layers.</param>
    /// <param name="BatchSize">Samples per step.</param>
    /// <param name="SamplesPerSecond">Median over timing rounds.</param>
    /// <param name="AllocatedBytesPerStep">Managed bytes allocated per step on the training thread, averaged over all timed steps.</param>
    public sealed record Result(string Model, string Norm, int BatchSize, double SamplesPerSecond, double AllocatedBytesPerStep);

    /// <summary>Runs warm-up steps, then timing rounds of at least <paramref name="minTime"/> in total.</summary>
    public static Result Run(int[] widths, NormKind norm, int batchSize, TimeSpan minTime, ulong seed = 1)
    {
        var rng = new Rng(seed);
        var model = new Mlp(widths, norm, rng);
        var r = Run(model, widths[0], widths[^1], batchSize, minTime, rng);
        return r with { Model = model.Describe(), Norm = NormKinds.Name(norm) };
    }

    /// <summary>Measures training steps of any classifier of <paramref name="inputs"/> features on random data.</summary>
    public static Result Run(Module model, int inputs, int classes, int batchSize, TimeSpan minTime, Rng rng)
    {
        var optimizer = new Adam(model.Parameters(), 1e-3);
        var x = Variable.Constant(Tensor.Zeros(batchSize, inputs));
        rng.FillUniform(x.Value.Span, 0f, 1f);
        var labels = new int[batchSize];
        for (int i = 0; i < batchSize; i++) labels[i] = rng.NextInt(classes);

        void Step()
        {
            optimizer.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(x), labels);
            loss.Backward();
            optimizer.Step();
        }

        for (int i = 0; i < 20; i++) Step();
        // Size a round to ~1/10 of the time so the median is over ~10 rounds.
        var probe = Stopwatch.StartNew();
        int probeSteps = 0;
        while (probe.Elapsed < TimeSpan.FromMilliseconds(200)) { Step(); probeSteps++; }
        double perStep = probe.Elapsed.TotalSeconds / probeSteps;
        int roundSteps = Math.Max(1, (int)(minTime.TotalSeconds / 10 / perStep));

        var rates = new List<double>();
        long steps = 0;
        long allocated = 0;
        var total = Stopwatch.StartNew();
        while (rates.Count < 3 || total.Elapsed < minTime)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < roundSteps; i++) Step();
            sw.Stop();
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            steps += roundSteps;
            rates.Add(roundSteps * batchSize / sw.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return new Result(ModelFactory.Describe(model), "", batchSize, rates[rates.Count / 2], (double)allocated / steps);
    }
}
