using System.Globalization;
using System.Text.Json;
using NormSharp.Cli.Arguments;
using NormSharp.Cli.Bench;
using NormSharp.Distributed;
using NormSharp.Threading;

namespace NormSharp.Cli.Commands;

/// <summary>
/// <c>normsharp bench distributed</c>: started by a user, it measures one process with every thread, then starts
/// <c>mpirun</c> for the same work on several single-threaded ranks, and prints both side by side. Under
/// <c>mpirun</c> (how it starts its ranks, or by hand) it measures the job it is part of.
/// </summary>
internal static class BenchDistributed
{
    public static CommandSpec Spec(OptionSpec json) => new()
    {
        Name = "distributed",
        Summary = "data-parallel training over MPI: all-reduce GB/s, and step time split into compute and communication, 1 rank x N threads vs N ranks x 1 thread",
        Details = "Run it directly: it measures one process with --ranks threads, then starts 'mpirun -np RANKS' (Open MPI) for the\n" +
                  "same global batch on single-threaded ranks, with and without overlapping the gradient all-reduce with the\n" +
                  "backward pass, for the paper's MLP (784-1000-1000-10, LayerNorm, Adam) and the character-level Transformer of\n" +
                  "'bench transformer' (windows of 128 characters). Under mpirun it measures that job only. Needs Open MPI\n" +
                  "(apt-get install openmpi-bin).",
        Options =
        [
            json,
            new OptionSpec("ranks", "N", "ranks of the data-parallel job (and threads of the single process)", "2"),
            new OptionSpec("global-batch", "N", "MLP samples per step over all ranks", "128"),
            new OptionSpec("lm-batch", "N", "Transformer windows per step over all ranks", "16"),
            new OptionSpec("steps", "N", "measured training steps (after 5 warm-up steps)", "30"),
        ],
        Handler = Run,
        Examples = ["normsharp bench distributed --json distributed.json", "mpirun -np 2 normsharp bench distributed"],
    };

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        int ranks = a.Int("ranks", 1, 64), batch = a.Int("global-batch", 1, 1 << 20), lmBatch = a.Int("lm-batch", 1, 1 << 16), steps = a.Int("steps", 1, 100_000);
        if (MpiCommunicator.IsLaunchedByMpirun) return RunAsRank(a, ctx, batch, lmBatch, steps);

        ParallelFor.MaxThreads = ranks;
        ctx.Error.WriteLine($"1 process x {ranks} threads ...");
        var single = DistributedBenchmark.MeasureSteps(null, batch, steps, warmup: 5);
        var singleLm = DistributedBenchmark.MeasureTransformerSteps(null, lmBatch, steps, warmup: 5);
        ctx.Error.WriteLine($"mpirun -np {ranks}, 1 thread per rank ...");
        string tempJson = Path.Combine(Path.GetTempPath(), $"normsharp-bench-distributed-{Environment.ProcessId}.json");
        try
        {
            var job = Distributed.MpiLauncher.Run(ranks, ["bench", "distributed", "--global-batch", batch.ToString(CultureInfo.InvariantCulture), "--lm-batch", lmBatch.ToString(CultureInfo.InvariantCulture), "--steps", steps.ToString(CultureInfo.InvariantCulture), "--json", tempJson], TimeSpan.FromMinutes(10));
            if (job.ExitCode != 0)
            {
                ctx.Error.Write(job.Error);
                throw new IOException($"the {ranks}-rank measurement (mpirun) failed with exit code {job.ExitCode}");
            }
            var ranked = JsonSerializer.Deserialize<DistributedBenchmark.Report>(File.ReadAllText(tempJson))!;
            var report = new DistributedBenchmark.Report(ranked.AllReduce, [single, .. ranked.Steps.Where(c => c.Model == single.Model), singleLm, .. ranked.Steps.Where(c => c.Model == singleLm.Model)]);
            Print(ctx, report);
            BenchCommand.WriteJson(a, report);
            return CommandLine.Ok;
        }
        finally
        {
            File.Delete(tempJson);
        }
    }

    private static int RunAsRank(ParsedArguments a, CliContext ctx, int batch, int lmBatch, int steps)
    {
        using var comm = MpiCommunicator.Initialize();
        ParallelFor.MaxThreads = 1;
        var allReduce = DistributedBenchmark.MeasureAllReduce(comm, [1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22], iterations: 15);
        var overlapped = DistributedBenchmark.MeasureSteps(new DataParallel(comm), batch, steps, warmup: 5);
        var serial = DistributedBenchmark.MeasureSteps(new DataParallel(comm) { OverlapCommunication = false }, batch, steps, warmup: 5);
        var overlappedLm = DistributedBenchmark.MeasureTransformerSteps(new DataParallel(comm), lmBatch, steps, warmup: 5);
        var serialLm = DistributedBenchmark.MeasureTransformerSteps(new DataParallel(comm) { OverlapCommunication = false }, lmBatch, steps, warmup: 5);
        var report = new DistributedBenchmark.Report(allReduce, [overlapped, serial, overlappedLm, serialLm]);
        if (comm.Rank == 0)
        {
            Print(ctx, report);
            BenchCommand.WriteJson(a, report);
        }
        return CommandLine.Ok;
    }

    private static void Print(CliContext ctx, DistributedBenchmark.Report report)
    {
        ctx.Out.WriteLine($"{"all-reduce bytes",16} {"ms",9} {"alg GB/s",9} {"bus GB/s",9}");
        foreach (var c in report.AllReduce) ctx.Out.WriteLine($"{c.Bytes,16} {c.Seconds * 1000,9:F3} {c.AlgorithmGbps,9:F2} {c.BusGbps,9:F2}");
        ctx.Out.WriteLine();
        ctx.Out.WriteLine($"{"model",-24} {"ranks",5} {"thr",4} {"batch",6} {"overlap",8} {"step ms",8} {"comm ms",8} {"compute ms",11} {"grad MB",8} {"samples/s",10}");
        foreach (var s in report.Steps)
            ctx.Out.WriteLine($"{s.Model,-24} {s.Ranks,5} {s.ThreadsPerRank,4} {s.GlobalBatch,6} {(s.Ranks == 1 ? "-" : s.Overlap ? "yes" : "no"),8} {s.StepMs,8:F2} {s.CommunicationMs,8:F2} {s.ComputeMs,11:F2} {s.GradientBytes / 1e6,8:F1} {s.SamplesPerSecond,10:F0}");
    }
}
