using System.Globalization;
using System.Runtime.InteropServices;
using NormSharp.Cli.Arguments;
using NormSharp.Cli.Reports;
using NormSharp.Datasets;
using NormSharp.Experiments;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp reproduce</c>: runs the paper's claims A–G and writes a report with verdicts computed from the measurements.</summary>
internal static class ReproduceCommand
{
    public static CommandSpec Spec { get; } = new()
    {
        Name = "reproduce",
        Summary = "test the paper's claims (A-G) and the language-modelling claims (H-J) on real data and write a report with computed verdicts",
        Details = "Claims: A batch-size independence, B faster convergence, C larger learning rates, D gradient flow\n" +
                  "through depth, E loss fluctuation, F recurrent networks, G the invariance table; on the fortunes text:\n" +
                  "H Post-LN Transformers need warm-up where Pre-LN ones do not, I LN-LSTM against LSTM language models,\n" +
                  "J RMSNorm against LayerNorm (quality and speed). H-J run in --full, or when named with --only (their quick\n" +
                  "sizes take about 5 minutes on two busy cores). K (data-parallel ranks) runs where Open MPI is installed.\n" +
                  "--quick (default) trains the paper's 784-1000-1000-10 network for few epochs, with short sweeps and\n" +
                  "small recurrent runs, in about 6.6 CPU-minutes (about ten minutes on two idle cores); --full trains\n" +
                  "longer, with larger recurrent runs on all the data. Each verdict compares the arms seed by seed with a\n" +
                  "95% t interval against a threshold fixed in the code. Finished runs are kept under DIR/runs, so an\n" +
                  "interrupted reproduction resumes where it stopped. Writes DIR/report.md, DIR/report.html,\n" +
                  "DIR/results.json, DIR/figures/*.png|svg, DIR/runs.csv (one line per run) and every run's metrics.csv.\n" +
                  "A run that fails (an error, or numbers that are not numbers) is recorded with its reason (runs.csv,\n" +
                  "results.json, the report) and the suite goes on; a claim with a failed run is inconclusive. A diverged\n" +
                  "run counts as the claim's rule says. Ctrl-C or SIGTERM stops at a checkpoint (exit 130 or 143); run\n" +
                  "the same command again to resume.",
        Options =
        [
            new("quick", null, "the short profile (default)"),
            new("full", null, "the paper-size profile"),
            new("dataset", "NAME", "the dataset", "mnist-digits") { Choices = DatasetCatalog.Names },
            new("data-dir", "DIR", "a folder with the four IDX files instead of the dataset's default location"),
            new("seeds", "N", $"seeds per configuration for every claim (at least 2), instead of the profile's (quick: {ExperimentProfile.Quick.DescribeSeeds()}; full: {ExperimentProfile.Full.DescribeSeeds()}; G is deterministic); verdicts use 95% t intervals over the seeds, so fewer seeds give wider intervals"),
            new("out", "DIR", "output folder", "reproduction"),
            new("only", "A,C,..", "run only these claims"),
            new("threads", "N", "kernel threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)),
        ],
        Handler = Run,
        Examples = ["normsharp reproduce --out reproduction", "normsharp reproduce --only A,G --seeds 3"],
    };

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        if (a.Flag("quick") && a.Flag("full")) throw new UsageException("--quick and --full exclude each other");
        var profile = a.Flag("full") ? ExperimentProfile.Full : ExperimentProfile.Quick;
        string dataset = a.Choice("dataset", DatasetCatalog.Names);
        string? dataDir = a.String("data-dir");
        int? seeds = a.Has("seeds") ? a.Int("seeds", 2, 100) : null;
        string dir = a.RequiredString("out");
        string[]? only = a.String("only") is { } o ? o.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => s.ToUpperInvariant()).ToArray() : null;
        if (only is not null)
            foreach (var id in only)
                if (Array.IndexOf(ReproductionSuite.ClaimIds, id) < 0)
                    throw new UsageException($"--only names unknown claim '{id}' (claims are {string.Join(",", ReproductionSuite.ClaimIds)})");
        NormSharp.Threading.ParallelFor.MaxThreads = a.Int("threads", 1, 1024);

        if (dir.Trim().Length == 0) throw new UsageException("--out needs a folder path, got an empty one");
        if (File.Exists(dir)) throw new UsageException($"--out {dir} is a file; a reproduction needs a folder");
        using var interrupt = InterruptSignals.Listen(ctx.Error);
        Action<string> log = s => ctx.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {s}");
        var claimsToRun = only ?? ReproductionSuite.DefaultClaims(profile);
        // Load (or fetch) the data up front so a missing dataset fails before any work; each kind only when a claim needs it.
        var data = claimsToRun.Except(ReproductionSuite.LanguageModelClaimIds).Any() ? DatasetCatalog.Load(dataset, dataDir, log) : null;
        var text = claimsToRun.Intersect(ReproductionSuite.LanguageModelClaimIds).Any() ? TextDatasetCatalog.Load(profile.LanguageModel.Corpus) : null;
        using var folder = NormSharp.Training.RunFolderLock.Acquire(dir);
        var runner = new ExperimentRunner(dir, name => data ?? throw new InvalidOperationException($"the image dataset {name} was not loaded"), interrupt.Token)
        {
            LoadText = name => text ?? TextDatasetCatalog.Load(name),
            // Data-parallel claims start this tool on several ranks; without Open MPI they are left out.
            DistributedLauncher = Distributed.MpiLauncher.IsAvailable
                ? (config, ranks, outDir) => Distributed.MpiLauncher.Run(ranks, ["train", "--config", config, "--distributed", "--out", outDir], TimeSpan.FromHours(1))
                : null,
        };
        runner.Log += log;
        var started = DateTime.UtcNow;
        var ctxSuite = new SuiteContext(profile, dataset, seeds, runner, dataDir);
        IReadOnlyList<ClaimResult> claims;
        try
        {
            claims = ReproductionSuite.Run(ctxSuite, only, log);
        }
        catch (OperationCanceledException) when (interrupt.ExitCode is { } code)
        {
            runner.WriteIndex(Path.Combine(dir, "runs.csv"));
            ctx.Error.WriteLine($"interrupted by {interrupt.SignalName}: the current run stopped at a checkpoint; run the same command again to resume");
            return code;
        }
        var env = new Dictionary<string, string>
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            ["profile"] = profile.Name,
            ["dataset"] = string.Join(", ", new[]
            {
                data is null ? null : dataset,
                text is null ? null : profile.LanguageModel.Corpus,
            }.OfType<string>()),
            ["seeds"] = seeds?.ToString(CultureInfo.InvariantCulture) ?? (profile.DescribeSeeds(only) is { Length: > 0 } d ? d : "none (G is deterministic)"),
            ["cpu"] = CpuName(),
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["threads"] = NormSharp.Threading.ParallelFor.MaxThreads.ToString(CultureInfo.InvariantCulture),
            ["os"] = RuntimeInformation.OSDescription,
            [".NET"] = RuntimeInformation.FrameworkDescription,
            ["runs trained"] = runner.Trained.ToString(CultureInfo.InvariantCulture),
            ["runs reused"] = runner.Reused.ToString(CultureInfo.InvariantCulture),
            ["runs failed"] = runner.Failures.Count.ToString(CultureInfo.InvariantCulture),
            ["minutes"] = (DateTime.UtcNow - started).TotalMinutes.ToString("F1", CultureInfo.InvariantCulture),
        };
        ReportWriter.Write(dir, claims, env, runner.Failures);
        runner.WriteIndex(Path.Combine(dir, "runs.csv"));
        foreach (var c in claims) ctx.Out.WriteLine($"{c.Id}  {ReportWriter.VerdictText(c.Verdict),-13}  {c.Title}");
        foreach (var f in runner.Failures) ctx.Out.WriteLine($"run {f.Id} failed: {f.Failure}");
        ctx.Out.WriteLine($"report: {Path.Combine(dir, "report.html")} (and report.md, results.json)");
        return CommandLine.Ok;
    }

    private static string CpuName()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
