using NormSharp.Cli.Arguments;
using NormSharp.Layers;
using NormSharp.Training;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp bench train</c>: samples per second of whole training steps of the paper's MLP.</summary>
internal static class BenchTrain
{
    public static CommandSpec Spec(OptionSpec json, OptionSpec threads, OptionSpec seconds) => new()
    {
        Name = "train",
        Summary = "samples/s of a training step (forward, backward, Adam) of the LN MLP 784-1000-1000-10 at batch 128 and 4",
        Details = "Random data; reports the median over timing rounds and the bytes allocated per steady-state step.",
        Options = [json, threads, seconds, new OptionSpec("norm", "KIND", "normalization: none|layer|batch|rms", "layer"),
            new OptionSpec("contend", null, "also measure with one competing CPU-bound thread running, and report the ratio to idle")],
        Handler = Run,
        Examples = ["normsharp bench train --json train.json"],
    };

    private sealed record Report(
        [property: System.Text.Json.Serialization.JsonPropertyName("threads")] int Threads,
        [property: System.Text.Json.Serialization.JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    private sealed record Case(
        [property: System.Text.Json.Serialization.JsonPropertyName("model")] string Model,
        [property: System.Text.Json.Serialization.JsonPropertyName("norm")] string Norm,
        [property: System.Text.Json.Serialization.JsonPropertyName("batch_size")] int BatchSize,
        [property: System.Text.Json.Serialization.JsonPropertyName("samples_per_second")] double SamplesPerSecond,
        [property: System.Text.Json.Serialization.JsonPropertyName("allocated_bytes_per_step")] double AllocatedBytesPerStep,
        [property: System.Text.Json.Serialization.JsonPropertyName("contended_samples_per_second")] double? ContendedSamplesPerSecond = null,
        [property: System.Text.Json.Serialization.JsonPropertyName("contended_vs_idle")] double? ContendedVsIdle = null);

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        int threads = a.Int("threads", 1, 1024);
        NormSharp.Threading.ParallelFor.MaxThreads = threads;
        var norm = NormKinds.Parse(a.RequiredString("norm"));
        var time = TimeSpan.FromSeconds(a.Double("seconds", 0));
        bool contend = a.Flag("contend");
        var cases = new List<Case>();
        ctx.Out.WriteLine($"{"model",-22} {"norm",-6} {"batch",6} {"samples/s",11} {"alloc B/step",13}" + (contend ? $" {"contended",10} {"ratio",6}" : ""));
        foreach (int batch in new[] { 128, 4 })
        {
            var r = TrainStepBenchmark.Run([784, 1000, 1000, 10], norm, batch, time);
            var c = new Case(r.Model, r.Norm, r.BatchSize, r.SamplesPerSecond, r.AllocatedBytesPerStep);
            if (contend)
            {
                // Same process, right after the idle figure: the ratio is what one busy neighbour costs.
                using var contender = new Bench.Contender();
                var busy = TrainStepBenchmark.Run([784, 1000, 1000, 10], norm, batch, time);
                c = c with { ContendedSamplesPerSecond = busy.SamplesPerSecond, ContendedVsIdle = busy.SamplesPerSecond / r.SamplesPerSecond };
            }
            cases.Add(c);
            ctx.Out.WriteLine($"{c.Model,-22} {c.Norm,-6} {c.BatchSize,6} {c.SamplesPerSecond,11:F0} {c.AllocatedBytesPerStep,13:F0}"
                + (contend ? $" {c.ContendedSamplesPerSecond,10:F0} {c.ContendedVsIdle,6:F2}" : ""));
        }
        BenchCommand.WriteJson(a, new Report(threads, cases));
        return CommandLine.Ok;
    }
}
