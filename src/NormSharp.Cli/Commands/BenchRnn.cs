using System.Text.Json.Serialization;
using NormSharp.Cli.Arguments;
using NormSharp.Cli.Bench;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Cli.Commands;

/// <summary>
/// <c>normsharp bench rnn</c>: samples/s and allocated bytes of a recurrent training step (forward, backpropagation
/// through time, Adam) on sequential-MNIST-shaped data, for every cell at batch 64 and 1.
/// </summary>
internal static class BenchRnn
{
    private const int Hidden = 128, Steps = 28, Width = 28, Classes = 10;

    public static CommandSpec Spec(OptionSpec json, OptionSpec threads, OptionSpec seconds) => new()
    {
        Name = "rnn",
        Summary = "samples/s and allocated bytes of a training step of each recurrent cell (H=128, T=28, input 28) at batch 64 and 1",
        Details = "Random data read as 28 rows of 28 pixels; a 10-class linear head reads the last hidden state; Adam. Reports the median "
            + "over timing rounds and the managed bytes allocated per training step. Every cell runs as one fused node per sequence "
            + "(bn-lstm's steps one after the other inside it, since each step's batch statistics tie the samples together). "
            + "bn-lstm cannot train on a batch of one (batch statistics need two samples) and is listed as skipped there.",
        Options = [json, threads, seconds, new OptionSpec("cells", "LIST", "cells to measure", string.Join(",", CellKinds.Names)),
            new OptionSpec("batches", "LIST", "batch sizes", "64,1"),
            new OptionSpec("long", null, "instead, the memory of sequential MNIST by pixels (784 steps, batch 64) with full and truncated backpropagation (--bptt 196, 49)")],
        Handler = Run,
        Examples = ["normsharp bench rnn --json rnn.json", "normsharp bench rnn --cells lstm,ln-lstm --batches 64 --threads 1"],
    };

    private sealed record MemoryReport(
        [property: JsonPropertyName("threads")] int Threads,
        [property: JsonPropertyName("hidden")] int Hidden,
        [property: JsonPropertyName("steps")] int Steps,
        [property: JsonPropertyName("batch_size")] int BatchSize,
        [property: JsonPropertyName("cases")] IReadOnlyList<MemoryCase> Cases);

    private sealed record MemoryCase(
        [property: JsonPropertyName("cell")] string Cell,
        [property: JsonPropertyName("bptt")] int Bptt,
        [property: JsonPropertyName("recorded_bytes")] long RecordedBytes,
        [property: JsonPropertyName("recorded_bytes_per_recorded_step")] double RecordedBytesPerStep,
        [property: JsonPropertyName("tape_bytes_held")] long TapeBytesHeld,
        [property: JsonPropertyName("tape_bytes_held_growth")] long TapeBytesHeldGrowth,
        [property: JsonPropertyName("samples_per_second")] double SamplesPerSecond);

    private sealed record Report(
        [property: JsonPropertyName("threads")] int Threads,
        [property: JsonPropertyName("hidden")] int Hidden,
        [property: JsonPropertyName("steps")] int Steps,
        [property: JsonPropertyName("input")] int Input,
        [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    private sealed record Case(
        [property: JsonPropertyName("cell")] string Cell,
        [property: JsonPropertyName("batch_size")] int BatchSize,
        [property: JsonPropertyName("samples_per_second")] double? SamplesPerSecond,
        [property: JsonPropertyName("allocated_bytes_per_step")] double? AllocatedBytesPerStep,
        [property: JsonPropertyName("skipped")] string? Skipped);

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        int threads = a.Int("threads", 1, 1024);
        NormSharp.Threading.ParallelFor.MaxThreads = threads;
        if (a.Flag("long")) return RunLong(a, ctx, threads);
        var time = TimeSpan.FromSeconds(a.Double("seconds", 0));
        var cells = a.RequiredString("cells").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(CellKinds.Parse).ToArray();
        var batches = ParseBatches(a.RequiredString("batches"));
        var cases = new List<Case>();
        ctx.Out.WriteLine($"{"cell",-8} {"batch",5} {"samples/s",10} {"alloc B/step",13}");
        foreach (var cell in cells)
            foreach (int batch in batches)
            {
                Case c;
                if (cell == CellKind.BnLstm && batch < 2)
                    c = new Case(CellKinds.Name(cell), batch, null, null, "batch statistics need at least two samples");
                else
                {
                    var rng = new Rng(1);
                    var model = new SequenceClassifier(cell, SequenceReading.Rows, Steps, Width, Hidden, Classes, rng);
                    var r = BareStepBenchmark.Run(model, Steps * Width, Classes, batch, time, rng);
                    c = new Case(CellKinds.Name(cell), batch, r.SamplesPerSecond, r.AllocatedBytesPerStep, null);
                }
                cases.Add(c);
                ctx.Out.WriteLine(c.Skipped is { } why
                    ? $"{c.Cell,-8} {c.BatchSize,5} {"skipped",10} {"",13}  ({why})"
                    : $"{c.Cell,-8} {c.BatchSize,5} {c.SamplesPerSecond,10:F0} {c.AllocatedBytesPerStep,13:F0}");
            }
        BenchCommand.WriteJson(a, new Report(threads, Hidden, Steps, Width, cases));
        return CommandLine.Ok;
    }

    /// <summary>
    /// Sequential MNIST by pixels: what one training step keeps on the tape for its backward (its recorded bytes, after the
    /// forward), what the tape holds once the step is done, whether that grows over the measured steps, and the speed.
    /// </summary>
    private static int RunLong(ParsedArguments a, CliContext ctx, int threads)
    {
        const int PixelSteps = 784, Batch = 64, MeasuredSteps = 3;
        var cells = a.RequiredString("cells").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(CellKinds.Parse)
            .Where(c => c != CellKind.BnLstm).ToArray();
        var cases = new List<MemoryCase>();
        ctx.Out.WriteLine($"sequential MNIST by pixels: {PixelSteps} steps of 1 input, batch {Batch}, hidden {Hidden}, {MeasuredSteps} measured training steps each");
        ctx.Out.WriteLine($"{"cell",-8} {"bptt",5} {"recorded MB",12} {"B/step/sample",14} {"tape MB",8} {"growth B",9} {"samples/s",10}");
        foreach (var cell in cells)
            foreach (int bptt in new[] { 0, 196, 49 })
            {
                var rng = new Rng(1);
                var model = new SequenceClassifier(cell, SequenceReading.Pixels, 28, 28, Hidden, Classes, rng);
                if (bptt > 0) model.Rnn.TruncateBackpropagation = bptt;
                var optimizer = new NormSharp.Optimizers.Adam(model.Parameters(), 1e-3);
                var (x, labels) = BareStepBenchmark.RandomBatch(PixelSteps, Classes, Batch, rng);
                var tape = NormSharp.Autograd.Tape.Current;
                tape.Release();
                long recorded = 0, heldFirst = 0, held = 0;
                var watch = new System.Diagnostics.Stopwatch();
                for (int i = 0; i <= MeasuredSteps; i++)
                {
                    if (i == 1) watch.Start();
                    optimizer.ZeroGrad();
                    var loss = NormSharp.Autograd.F.CrossEntropy(model.Forward(x), labels);
                    recorded = tape.BytesInUse;
                    loss.Backward();
                    optimizer.Step();
                    held = tape.BytesHeld;
                    if (i == 1) heldFirst = held;
                }
                watch.Stop();
                int recordedSteps = bptt > 0 ? bptt : PixelSteps;
                var c = new MemoryCase(CellKinds.Name(cell), bptt, recorded, (double)recorded / recordedSteps / Batch, held, held - heldFirst,
                    MeasuredSteps * Batch / watch.Elapsed.TotalSeconds);
                cases.Add(c);
                ctx.Out.WriteLine($"{c.Cell,-8} {(bptt > 0 ? bptt.ToString(System.Globalization.CultureInfo.InvariantCulture) : "full"),5} {c.RecordedBytes / 1e6,12:F1} {c.RecordedBytesPerStep,14:F0} {c.TapeBytesHeld / 1e6,8:F1} {c.TapeBytesHeldGrowth,9} {c.SamplesPerSecond,10:F0}");
                tape.Release();
            }
        BenchCommand.WriteJson(a, new MemoryReport(threads, Hidden, PixelSteps, Batch, cases));
        return CommandLine.Ok;
    }

    private static int[] ParseBatches(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var batches = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out batches[i]) || batches[i] < 1)
                throw new UsageException($"--batches: '{parts[i]}' is not a positive whole number.");
        return batches.Length > 0 ? batches : throw new UsageException("--batches: give at least one batch size.");
    }
}
