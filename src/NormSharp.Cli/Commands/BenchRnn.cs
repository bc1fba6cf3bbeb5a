using System.Text.Json.Serialization;
using NormSharp.Cli.Arguments;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;
using NormSharp.Cli.Bench;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp bench rnn</c>: samples/s of a recurrent training step (forward, BPTT, Adam) on sequential-MNIST-shaped data.</summary>
internal static class BenchRnn
{
    public static CommandSpec Spec(OptionSpec json, OptionSpec threads, OptionSpec seconds) => new()
    {
        Name = "rnn",
        Summary = "samples/s of a training step of lstm and ln-lstm (H=128, T=28, input 28) at batch 64 and 1",
        Details = "Random data; a 10-class linear head reads the last hidden state. Reports the median over timing rounds.",
        Options = [json, threads, seconds, new OptionSpec("cells", "LIST", "cells to measure", "lstm,ln-lstm")],
        Handler = Run,
        Examples = ["normsharp bench rnn --json rnn.json"],
    };

    private sealed record Report([property: JsonPropertyName("threads")] int Threads, [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    private sealed record Case(
        [property: JsonPropertyName("cell")] string Cell,
        [property: JsonPropertyName("hidden")] int Hidden,
        [property: JsonPropertyName("steps")] int Steps,
        [property: JsonPropertyName("batch_size")] int BatchSize,
        [property: JsonPropertyName("samples_per_second")] double SamplesPerSecond,
        [property: JsonPropertyName("allocated_bytes_per_step")] double AllocatedBytesPerStep);

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        int threads = a.Int("threads", 1, 1024);
        NormSharp.Threading.ParallelFor.MaxThreads = threads;
        var time = TimeSpan.FromSeconds(a.Double("seconds", 0));
        var cells = a.RequiredString("cells").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(CellKinds.Parse).ToArray();
        var cases = new List<Case>();
        ctx.Out.WriteLine($"{"cell",-8} {"hidden",6} {"steps",5} {"batch",5} {"samples/s",10} {"alloc B/step",13}");
        foreach (var cell in cells)
            foreach (int batch in new[] { 64, 1 })
            {
                var rng = new Rng(1);
                var model = new SequenceClassifier(cell, SequenceReading.Rows, 28, 28, 128, 10, rng);
                var r = BareStepBenchmark.Run(model, 784, 10, batch, time, rng);
                var c = new Case(CellKinds.Name(cell), 128, 28, batch, r.SamplesPerSecond, r.AllocatedBytesPerStep);
                cases.Add(c);
                ctx.Out.WriteLine($"{c.Cell,-8} {c.Hidden,6} {c.Steps,5} {c.BatchSize,5} {c.SamplesPerSecond,10:F0} {c.AllocatedBytesPerStep,13:F0}");
            }
        BenchCommand.WriteJson(a, new Report(threads, cases));
        return CommandLine.Ok;
    }
}
