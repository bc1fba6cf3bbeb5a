using System.Text.Json.Serialization;
using NormSharp.Cli.Arguments;
using NormSharp.Cli.Bench;
using NormSharp.Experiments.Recipes;
using NormSharp.Layers;
using static NormSharp.Cli.Bench.TrainerStepBenchmark;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp bench train</c>: samples per second of the bare training step and of the Trainer's step, side by side.</summary>
internal static class BenchTrain
{
    public static CommandSpec Spec(OptionSpec json, OptionSpec threads, OptionSpec seconds) => new()
    {
        Name = "train",
        Summary = "samples/s of the MLP 784-1000-1000-10 training step, bare and through the Trainer, at batch 128 and 4",
        Details = "Random data. Path 'bare' is forward, backward and Adam; path 'trainer' is the general Trainer with the parts\n" +
                  "'normsharp train' uses (metrics.csv with per-layer gradient norms, NaN guard, divergence detection, progress).\n" +
                  "The two run on identical models, round after round in one process; trainer_over_bare is the median of the\n" +
                  "per-round time ratios; with --threads 1, trainer_over_bare_cpu is the same ratio of the training thread's CPU time,\n" +
                  "which other load on the machine blurs far less. --parts also measures the Trainer with each part alone.",
        Options =
        [
            json, threads, seconds,
            new OptionSpec("norms", "LIST", "normalizations to measure: none|layer|batch|rms, comma-separated", "none,batch,layer"),
            new OptionSpec("batch-sizes", "LIST", "batch sizes, comma-separated", "128,4"),
            new OptionSpec("parts", null, "also measure the Trainer with no part and with each part alone"),
            new OptionSpec("contend", null, "measure each case again with one competing CPU-bound thread running, and report the ratio to idle"),
        ],
        Handler = Run,
        Examples = ["normsharp bench train --json train.json", "normsharp bench train --norms layer --parts"],
    };

    private sealed record Report([property: JsonPropertyName("threads")] int Threads, [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    private sealed record Case(
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("norm")] string Norm,
        [property: JsonPropertyName("batch_size")] int BatchSize,
        [property: JsonPropertyName("path")] string Path,
        [property: JsonPropertyName("parts")] string Parts,
        [property: JsonPropertyName("samples_per_second")] double SamplesPerSecond,
        [property: JsonPropertyName("allocated_bytes_per_step")] double AllocatedBytesPerStep,
        [property: JsonPropertyName("trainer_over_bare")] double TrainerOverBare,
        [property: JsonPropertyName("trainer_over_bare_cpu")] double TrainerOverBareCpu,
        [property: JsonPropertyName("steps")] long Steps,
        [property: JsonPropertyName("contended_samples_per_second")] double? ContendedSamplesPerSecond = null,
        [property: JsonPropertyName("contended_over_idle")] double? ContendedOverIdle = null);

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        int threads = a.Int("threads", 1, 1024);
        NormSharp.Threading.ParallelFor.MaxThreads = threads;
        var norms = a.RequiredString("norms").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(n => Spelling.Names<NormKind>().Contains(n) ? Spelling.Parse<NormKind>(n, "norm") : throw new UsageException($"--norms must list none|layer|batch|rms, got '{n}'")).ToArray();
        var batches = a.IntList("batch-sizes", 2);
        var time = TimeSpan.FromSeconds(a.Double("seconds", 0));
        bool contend = a.Flag("contend");
        Parts[] variants = a.Flag("parts") ? [Parts.All, Parts.None, Parts.Metrics, Parts.NanGuard, Parts.Divergence, Parts.Progress] : [Parts.All];
        int[] widths = [784, 1000, 1000, 10];
        string model = "mlp-" + string.Join("-", widths);
        var cases = new List<Case>();
        ctx.Out.WriteLine($"{"model",-22} {"norm",-6} {"batch",6} {"path",-8} {"parts",-38} {"samples/s",10} {"alloc B/step",13} {"trainer/bare",13} {"cpu ratio",10}"
            + (contend ? $" {"contended",10} {"/idle",6}" : ""));
        foreach (var norm in norms)
            foreach (int batch in batches)
                foreach (var parts in variants)
                {
                    var r = TrainerStepBenchmark.Run(widths, norm, batch, time, parts);
                    string partsText = parts == Parts.All ? "all" : parts.ToString().ToLowerInvariant();
                    var bare = new Case(model, Spelling.Of(norm), batch, "bare", "", r.BareSamplesPerSecond, r.BareAllocatedBytesPerStep, 1.0, 1.0, r.Steps);
                    var trained = new Case(model, Spelling.Of(norm), batch, "trainer", partsText, r.TrainerSamplesPerSecond, r.TrainerAllocatedBytesPerStep, r.TrainerOverBare, r.TrainerOverBareCpu, r.Steps);
                    if (contend)
                    {
                        // Same process, right after the idle figures: the ratio is what one busy neighbour costs.
                        using var contender = new Contender();
                        var busy = TrainerStepBenchmark.Run(widths, norm, batch, time, parts);
                        bare = bare with { ContendedSamplesPerSecond = busy.BareSamplesPerSecond, ContendedOverIdle = busy.BareSamplesPerSecond / r.BareSamplesPerSecond };
                        trained = trained with { ContendedSamplesPerSecond = busy.TrainerSamplesPerSecond, ContendedOverIdle = busy.TrainerSamplesPerSecond / r.TrainerSamplesPerSecond };
                    }
                    foreach (var c in new[] { bare, trained })
                    {
                        cases.Add(c);
                        ctx.Out.WriteLine($"{c.Model,-22} {c.Norm,-6} {c.BatchSize,6} {c.Path,-8} {c.Parts,-38} {c.SamplesPerSecond,10:F0} {c.AllocatedBytesPerStep,13:F0} {c.TrainerOverBare,13:F3} {c.TrainerOverBareCpu,10:F3}"
                            + (contend ? $" {c.ContendedSamplesPerSecond,10:F0} {c.ContendedOverIdle,6:F2}" : ""));
                    }
                }
        BenchCommand.WriteJson(a, new Report(threads, cases));
        return CommandLine.Ok;
    }
}
