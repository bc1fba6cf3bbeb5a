using System.Text.Json.Serialization;
using NormSharp.Cli.Arguments;
using NormSharp.Layers;
using NormSharp.Training;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp bench transformer</c>: training tokens per second of a small decoder-only Transformer.</summary>
internal static class BenchTransformer
{
    public static CommandSpec Spec(OptionSpec json, OptionSpec threads, OptionSpec seconds) => new()
    {
        Name = "transformer",
        Summary = "training tokens/s (forward, backward, AdamW) of a 4-layer, d_model 128, 4-head char-LM Transformer at context 128, batch 16",
        Details = "Random tokens over a vocabulary of 96; feed-forward 512; Pre-LN with LayerNorm and with RMSNorm, and Post-LN with\n" +
                  "LayerNorm. Reports the median over timing rounds, the bytes allocated per steady-state step, and the share of the\n" +
                  "step taken by its matrix products and by its attention kernels, each run alone in rounds alternating with whole steps.\n" +
                  "Tokens per CPU-second divide by the process's processor time (all threads), which a shared machine stretches\n" +
                  "far less than wall time; the load average before measuring is printed to read the wall figures by.",
        Options = [json, threads, seconds],
        Handler = Run,
        Examples = ["normsharp bench transformer --json transformer.json"],
    };

    private sealed record Report(
        [property: JsonPropertyName("threads")] int Threads,
        [property: JsonPropertyName("load_average_before")] double? LoadAverageBefore,
        [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    private sealed record Case(
        [property: JsonPropertyName("d_model")] int DModel,
        [property: JsonPropertyName("layers")] int Layers,
        [property: JsonPropertyName("heads")] int Heads,
        [property: JsonPropertyName("context")] int Context,
        [property: JsonPropertyName("batch_size")] int BatchSize,
        [property: JsonPropertyName("feed_forward")] int FeedForward,
        [property: JsonPropertyName("norm_position")] string NormPosition,
        [property: JsonPropertyName("norm")] string Norm,
        [property: JsonPropertyName("tokens_per_second")] double TokensPerSecond,
        [property: JsonPropertyName("tokens_per_cpu_second")] double TokensPerCpuSecond,
        [property: JsonPropertyName("step_ms")] double StepMilliseconds,
        [property: JsonPropertyName("allocated_bytes_per_step")] double AllocatedBytesPerStep,
        [property: JsonPropertyName("gemm_fraction")] double GemmFraction,
        [property: JsonPropertyName("attention_fraction")] double AttentionFraction);

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        int threads = a.Int("threads", 1, 1024);
        NormSharp.Threading.ParallelFor.MaxThreads = threads;
        var time = TimeSpan.FromSeconds(a.Double("seconds", 0));
        var cases = new List<Case>();
        double? load = LoadAverage();
        ctx.Out.WriteLine($"threads {threads}{(load is { } l ? $", load average {l:F1} before measuring" : "")}");
        ctx.Out.WriteLine($"{"d_model",7} {"layers",6} {"heads",5} {"context",7} {"batch",5} {"norm",-10} {"tokens/s",9} {"tok/CPU-s",9} {"ms/step",8} {"alloc B/step",12} {"GEMM",5} {"attn",5}");
        foreach (var c in TransformerStepBenchmark.DefaultCases)
        {
            ctx.Error.WriteLine($"measuring {c.NormPosition}-{NormKinds.Name(c.Norm)}...");
            var r = TransformerStepBenchmark.Run(c, time);
            var row = new Case(c.DModel, c.Layers, c.Heads, c.Context, c.BatchSize, c.FeedForward, c.NormPosition, NormKinds.Name(c.Norm),
                r.TokensPerSecond, r.TokensPerCpuSecond, r.StepMilliseconds, r.AllocatedBytesPerStep, r.GemmFraction, r.AttentionFraction);
            cases.Add(row);
            ctx.Out.WriteLine($"{row.DModel,7} {row.Layers,6} {row.Heads,5} {row.Context,7} {row.BatchSize,5} {row.NormPosition + "-" + row.Norm,-10} {row.TokensPerSecond,9:F0} {row.TokensPerCpuSecond,9:F0} {row.StepMilliseconds,8:F1} {row.AllocatedBytesPerStep,12:F0} {row.GemmFraction,5:P0} {row.AttentionFraction,5:P0}");
        }
        BenchCommand.WriteJson(a, new Report(threads, load, cases));
        return CommandLine.Ok;
    }

    /// <summary>The 1-minute load average (Linux), to read the wall-clock figures by: above the core count, other work shares the cores.</summary>
    private static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
