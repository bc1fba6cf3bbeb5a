using System.Globalization;
using System.Runtime.InteropServices;
using NormSharp.Cli.Arguments;
using NormSharp.Cli.Reports;
using NormSharp.Datasets;
using NormSharp.Experiments;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp reproduce</c>: runs the suite's claims and writes a report with verdicts computed from the measurements.</summary>
internal static class ReproduceCommand
{
    public static CommandSpec Spec { get; } = new()
    {
        Name = "reproduce",
        Summary = "test the paper's claims and later papers' claims about layer normalization on real data and write a report with computed verdicts",
        Details = "Claims (the paper's): " + Describe(ClaimSource.Paper) + ".\n" +
                  "Claims (the article's broader ones): " + Describe(ClaimSource.Article) + ".\n" +
                  "Claims (later papers'): " + Describe(ClaimSource.FollowUp) + ".\n" +
                  $"H, I and J train character-level language models on the {ExperimentProfile.Quick.LanguageModel.Corpus} text; K runs only where Open MPI is installed.\n" +
                  $"--quick (default) runs every claim on images ({string.Join(", ", ExperimentProfile.Quick.DefaultClaims)}) at reduced size in 2 to 5 minutes on two\n" +
                  $"cores; --full runs every claim ({string.Join(", ", ExperimentProfile.Full.DefaultClaims)}) with the paper's 784-1000-1000-10 network;\n" +
                  "--only runs the named claims at the chosen profile's sizes. Each verdict compares the\n" +
                  "arms seed by seed with a 95% t interval against a threshold fixed in the code. Finished runs are kept under\n" +
                  "DIR/runs, so an interrupted reproduction resumes where it stopped. Writes DIR/report.md, DIR/report.html,\n" +
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
            new("only", "A,C,..", "run only these claims (at the chosen profile's sizes)"),
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
                if (ReproductionSuite.Find(id) is null)
                    throw new UsageException($"--only names unknown claim '{id}' (claims are {string.Join(",", ReproductionSuite.ClaimIds)})");
        NormSharp.Threading.ParallelFor.MaxThreads = a.Int("threads", 1, 1024);

        if (dir.Trim().Length == 0) throw new UsageException("--out needs a folder path, got an empty one");
        if (File.Exists(dir)) throw new UsageException($"--out {dir} is a file; a reproduction needs a folder");
        using var interrupt = InterruptSignals.Listen(ctx.Error);
        Action<string> log = s => ctx.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {s}");
        var selected = ReproductionSuite.Selected(profile, only);
        // Load (or fetch) the data up front so a missing dataset fails before any work; each kind only when a claim needs it.
        var data = ReproductionSuite.Needs(selected, ClaimInput.Images) ? DatasetCatalog.Load(dataset, dataDir, log) : null;
        var text = ReproductionSuite.Needs(selected, ClaimInput.Text) ? TextDatasetCatalog.Load(profile.LanguageModel.Corpus) : null;
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
        var cpuAtStart = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
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
        var elapsed = DateTime.UtcNow - started;
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart;
        var env = new Dictionary<string, string>
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            ["profile"] = profile.Name,
            ["claims run"] = string.Join(", ", selected),
            ["dataset"] = string.Join(", ", new[]
            {
                data is null ? null : $"{dataset} ({data.Train.Count:N0} training images, {data.Test.Count:N0} test images)",
                text is null ? null : $"{profile.LanguageModel.Corpus} (text)",
            }.OfType<string>()) is { Length: > 0 } sets ? sets : "none (G trains nothing)",
            ["seeds"] = seeds?.ToString(CultureInfo.InvariantCulture) ?? (profile.DescribeSeeds(selected) is { Length: > 0 } d ? d : "none (G is deterministic)"),
            ["cpu"] = CpuName(),
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["threads"] = NormSharp.Threading.ParallelFor.MaxThreads.ToString(CultureInfo.InvariantCulture),
            ["multiply-add"] = NormSharp.Kernels.Numerics.MultiplyAdd.ToString().ToLowerInvariant(),
            ["os"] = RuntimeInformation.OSDescription,
            [".NET"] = RuntimeInformation.FrameworkDescription,
            ["runs trained"] = runner.Trained.ToString(CultureInfo.InvariantCulture),
            ["runs reused"] = runner.Reused.ToString(CultureInfo.InvariantCulture),
            ["runs failed"] = runner.Failures.Count.ToString(CultureInfo.InvariantCulture),
            ["minutes"] = elapsed.TotalMinutes.ToString("F1", CultureInfo.InvariantCulture),
            ["CPU minutes"] = cpu.TotalMinutes.ToString("F1", CultureInfo.InvariantCulture),
        };
        var notRun = ReproductionSuite.Claims.Where(c => !selected.Contains(c.Id)).ToList();
        string scope = notRun.Count == 0 ? "" :
            $"This {profile.Name} reproduction ran claims {string.Join(", ", selected)}. Not run here: " +
            string.Join("; ", notRun.Select(c => $"{c.Id} ({ClaimSources.Name(c.Source)}: {c.Summary})")) +
            (profile == ExperimentProfile.Quick ? " — the full profile (--full) runs every claim." : ".");
        ReportWriter.Write(dir, claims, env, runner.Failures, scope, runner.Results);
        runner.WriteIndex(Path.Combine(dir, "runs.csv"));
        foreach (var c in claims) ctx.Out.WriteLine($"{c.Id}  {ReportText.Verdict(c.Verdict),-13}  {ClaimSources.Name(c.Source),-8} {c.Title}");
        foreach (var f in runner.Failures) ctx.Out.WriteLine($"run {f.Id} failed: {f.Failure}");
        ctx.Out.WriteLine($"report: {Path.Combine(dir, "report.html")} (and report.md, results.json)");
        return CommandLine.Ok;
    }

    private static string Describe(ClaimSource source) =>
        string.Join("; ", ReproductionSuite.Claims.Where(c => c.Source == source).Select(c => $"{c.Id} {c.Summary}"));

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
