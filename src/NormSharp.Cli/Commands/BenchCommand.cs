using System.Text.Json;
using NormSharp.Cli.Arguments;
using NormSharp.Cli.Bench;
using NormSharp.Threading;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp bench ...</c>: speed measurements whose figures are ratios taken in one process.</summary>
internal static class BenchCommand
{
    private static readonly OptionSpec JsonOption = new("json", "FILE", "also write the results as JSON to FILE");
    private static readonly OptionSpec ThreadsOption = new("threads", "N", "threads to use", Environment.ProcessorCount.ToString());
    private static readonly OptionSpec SecondsOption = new("seconds", "S", "minimum measuring time per case", "1");

    public static CommandSpec Spec { get; } = new()
    {
        Name = "bench",
        Summary = "measure kernel and training speed on this machine",
        Subcommands =
        [
            new CommandSpec
            {
                Name = "norms",
                Summary = "LayerNorm and RMSNorm forward and forward+backward bandwidth, as a fraction of copy bandwidth",
                Details = "Traffic counts 2 floats per element for the forward (read x, write y) and 5 for forward+backward\n(adding read dy, read x, write dx). The copy bandwidth is measured in the same process with the same threads,\nin rounds alternating with the kernels: copy is x into y (the forward's two arrays), copy4 is x into y and dy\ninto dx (the four arrays forward+backward touches; where two arrays fit in the cache and four do not, copy\nruns from cache and forward+backward cannot).",
                Options = [JsonOption, ThreadsOption, SecondsOption, new OptionSpec("shapes", "LIST", "shapes ROWSxCOLS, comma-separated", string.Join(",", NormsBenchmark.DefaultShapes.Select(s => $"{s.Rows}x{s.Cols}")))],
                Handler = RunNorms,
                Examples = ["normsharp bench norms --json norms.json"],
            },
            new CommandSpec
            {
                Name = "gemm",
                Summary = "GEMM GFLOP/s of a Linear layer's three products (forward NT, backward NN and TN) at the shapes of the paper's MLP and a square 1024 case",
                Options = [JsonOption, ThreadsOption, SecondsOption],
                Handler = RunGemm,
                Examples = ["normsharp bench gemm --json gemm.json"],
            },
            BenchTrain.Spec(JsonOption, ThreadsOption, SecondsOption),
            BenchRnn.Spec(JsonOption, ThreadsOption, SecondsOption),
            BenchTransformer.Spec(JsonOption, ThreadsOption, SecondsOption),
            BenchDistributed.Spec(JsonOption),
        ],
    };

    private static JsonSerializerOptions JsonOptions { get; } = new() { WriteIndented = true };

    private static void ApplyThreads(ParsedArguments a) => ParallelFor.MaxThreads = a.Int("threads", 1, 1024);

    private static int RunNorms(ParsedArguments a, CliContext ctx)
    {
        ApplyThreads(a);
        var time = TimeSpan.FromSeconds(a.Double("seconds", 0));
        string shapesText = a.RequiredString("shapes");
        var shapes = NormsBenchmark.ParseShapes(shapesText)
            ?? throw new UsageException($"--shapes expects ROWSxCOLS pairs of positive whole numbers, comma-separated, got '{shapesText}'");
        var report = NormsBenchmark.Run(shapes, time, s => ctx.Error.WriteLine(s));
        ctx.Out.WriteLine($"threads {report.Threads}; each case's copies of the same arrays timed in rounds alternating with it");
        ctx.Out.WriteLine($"{"op",-11} {"rows",7} {"cols",6} {"copy GB/s",10} {"fwd GB/s",9} {"fwd/copy",9} {"f+b GB/s",9} {"f+b/copy",9} {"copy4 GB/s",11} {"f+b/copy4",10}");
        foreach (var c in report.Cases)
            ctx.Out.WriteLine($"{c.Op,-11} {c.Rows,7} {c.Cols,6} {c.CopyGbps,10:F1} {c.FwdGbps,9:F1} {c.FwdVsCopy,9:F2} {c.FwdBwdGbps,9:F1} {c.FwdBwdVsCopy,9:F2} {c.Copy4Gbps,11:F1} {c.FwdBwdVsCopy4,10:F2}");
        WriteJson(a, report);
        return CommandLine.Ok;
    }

    private static int RunGemm(ParsedArguments a, CliContext ctx)
    {
        ApplyThreads(a);
        var time = TimeSpan.FromSeconds(a.Double("seconds", 0));
        var report = GemmBenchmark.Run(GemmBenchmark.DefaultCases, time, s => ctx.Error.WriteLine(s));
        ctx.Out.WriteLine($"threads {report.Threads}, vectors: {SimdDescription()}");
        ctx.Out.WriteLine($"{"m",6} {"k",6} {"n",6} {"product",8} {"GFLOP/s",9}");
        foreach (var c in report.Cases) ctx.Out.WriteLine($"{c.M,6} {c.K,6} {c.N,6} {c.Product,8} {c.Gflops,9:F1}");
        WriteJson(a, report);
        return CommandLine.Ok;
    }

    /// <summary>
    /// The widest vector width .NET accelerates in this process (DOTNET_EnableAVX512=0 and the like narrow it), and how
    /// a·b + c is computed (<see cref="NormSharp.Kernels.Numerics.MultiplyAdd"/>).
    /// </summary>
    internal static string SimdDescription() =>
        (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "512-bit"
        : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "256-bit"
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "128-bit" : "none (scalar)")
        + $", multiply-add: {NormSharp.Kernels.Numerics.MultiplyAdd.ToString().ToLowerInvariant()}";

    internal static void WriteJson<T>(ParsedArguments a, T report)
    {
        if (a.String("json") is not { } path) return;
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, JsonSerializer.Serialize(report, JsonOptions));
    }
}
