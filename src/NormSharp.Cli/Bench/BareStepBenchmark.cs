using System.Diagnostics;
using NormSharp.Autograd;
using NormSharp.Experiments.Recipes;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Cli.Bench;

/// <summary>
/// Measures bare training steps (forward, backward, Adam update, nothing else) of any classifier on random
/// data: the throughput and the bytes allocated per steady-state step.
/// </summary>
internal static class BareStepBenchmark
{
    /// <summary>One measured configuration.</summary>
    /// <param name="Model">Model description, e.g. mlp-784-1000-1000-10.</param>
    /// <param name="BatchSize">Samples per step.</param>
    /// <param name="SamplesPerSecond">Median over timing rounds.</param>
    /// <param name="AllocatedBytesPerStep">Managed bytes allocated per step on the training thread, averaged over all timed steps.</param>
    public sealed record Result(string Model, int BatchSize, double SamplesPerSecond, double AllocatedBytesPerStep);

    /// <summary>The bare step of <paramref name="model"/> on one fixed random batch.</summary>
    public static Action Step(Module model, Optimizer optimizer, Variable x, int[] labels) => () =>
    {
        optimizer.ZeroGrad();
        var loss = F.CrossEntropy(model.Forward(x), labels);
        loss.Backward();
        optimizer.Step();
    };

    /// <summary>A random batch of <paramref name="batchSize"/> samples of <paramref name="inputs"/> features and labels below <paramref name="classes"/>.</summary>
    public static (Variable X, int[] Labels) RandomBatch(int inputs, int classes, int batchSize, Rng rng)
    {
        var x = Variable.Constant(Tensor.Zeros(batchSize, inputs));
        rng.FillUniform(x.Value.Span, 0f, 1f);
        var labels = new int[batchSize];
        for (int i = 0; i < batchSize; i++) labels[i] = rng.NextInt(classes);
        return (x, labels);
    }

    /// <summary>Runs warm-up steps, then timing rounds of at least <paramref name="minTime"/> in total.</summary>
    public static Result Run(Module model, int inputs, int classes, int batchSize, TimeSpan minTime, Rng rng)
    {
        var optimizer = new Adam(model.Parameters(), 1e-3);
        var (x, labels) = RandomBatch(inputs, classes, batchSize, rng);
        var step = Step(model, optimizer, x, labels);

        for (int i = 0; i < 20; i++) step();
        // Size a round to ~1/10 of the time so the median is over ~10 rounds.
        var probe = Stopwatch.StartNew();
        int probeSteps = 0;
        while (probe.Elapsed < TimeSpan.FromMilliseconds(200)) { step(); probeSteps++; }
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
            for (int i = 0; i < roundSteps; i++) step();
            sw.Stop();
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            steps += roundSteps;
            rates.Add(roundSteps * batchSize / sw.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return new Result(ModelFactory.Describe(model), batchSize, rates[rates.Count / 2], (double)allocated / steps);
    }
}
