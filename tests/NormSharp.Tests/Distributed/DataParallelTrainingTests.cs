using System.Globalization;
using NormSharp.Tests.Support;

namespace NormSharp.Tests.Distributed;

/// <summary>Data-parallel training with `normsharp train --distributed` under mpirun, against one process.</summary>
[Trait("Category", "Distributed")]
public class DataParallelTrainingTests : IDisposable
{
    private readonly TestData.TempDir _dir = new();
    private readonly string _data;

    public DataParallelTrainingTests()
    {
        _data = Path.Combine(_dir.Path, "data");
        Directory.CreateDirectory(_data);
        TestData.WriteFolder(_data, train: 240, test: 60);
    }

    public void Dispose() => _dir.Dispose();

    private string[] Args(string run, int batch = 24, params string[] more) =>
    [
        "train", "--dataset", "fashion-mnist", "--data-dir", _data, "--hidden", "16,16", "--norm", "layer",
        "--batch-size", batch.ToString(CultureInfo.InvariantCulture), "--epochs", "2", "--threads", "1", "--seed", "7",
        "--out", Path.Combine(_dir.Path, run), .. more,
    ];

    private static string Cli => Path.Combine(AppContext.BaseDirectory, "NormSharp.Cli.dll");

    private static ChildProcess.Result Single(string[] args) => ChildProcess.Run("dotnet", [Cli, .. args], TimeSpan.FromSeconds(120));

    private byte[] Model(string run) => File.ReadAllBytes(Path.Combine(_dir.Path, run, "model.safetensors"));

    /// <summary>
    /// metrics.csv without its timing and communication columns (what may differ: one process communicates nothing).
    /// </summary>
    private string[] Metrics(string run)
    {
        var lines = File.ReadAllLines(Path.Combine(_dir.Path, run, "metrics.csv"));
        var header = lines[0].Split(',');
        var left = new[] { "step_ms", "step_cpu_ms", "comm_ms", "comm_bytes" }.Select(c => Array.IndexOf(header, c)).ToHashSet();
        Assert.Contains(Array.IndexOf(header, "comm_bytes"), left.Where(i => i >= 0));
        return lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => !left.Contains(i)))).ToArray();
    }

    private static void Ok(ChildProcess.Result r) => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Output}\n{r.Error}");

    [Theory]
    [InlineData("layer")]
    [InlineData("batch")] // running statistics too: every part's are applied in order on every rank
    public void TwoRanksEndWithTheWeightsOfOneProcessWithTwoMicroBatches(string norm)
    {
        string[] WithNorm(string[] a)
        {
            a[Array.IndexOf(a, "--norm") + 1] = norm;
            return a;
        }
        Ok(Single(WithNorm(Args("micro", more: ["--micro-batches", "2"]))));
        Ok(MpiJob.Run(2, "NormSharp.Cli.dll", WithNorm(Args("ranks", more: ["--distributed"]))));
        Assert.Equal(Model("micro"), Model("ranks"));
        Assert.Equal(Metrics("micro"), Metrics("ranks"));
        // Splitting the batch is not a no-op: the plain run adds in another order.
        Ok(Single(WithNorm(Args("plain"))));
        Assert.NotEqual(Model("plain"), Model("ranks"));
    }

    [Fact]
    public void ATransformerLanguageModelOnTwoRanksEndsWithTheWeightsOfTwoMicroBatches()
    {
        string sample = Path.Combine(AppContext.BaseDirectory, "data", "text", "sample-fortunes");
        string[] Lm(string run, params string[] more) =>
        [
            "train", "--task", "char-lm", "--model", "transformer", "--data-file", sample, "--context", "16", "--d-model", "16", "--heads", "2",
            "--layers", "2", "--batch-size", "6", "--steps", "8", "--threads", "1", "--seed", "3", "--out", Path.Combine(_dir.Path, run), .. more,
        ];
        Ok(Single(Lm("lm-micro", "--micro-batches", "2")));
        Ok(MpiJob.Run(2, "NormSharp.Cli.dll", Lm("lm-ranks", "--distributed")));
        Assert.Equal(Model("lm-micro"), Model("lm-ranks"));
        Assert.Equal(Metrics("lm-micro"), Metrics("lm-ranks"));
        // The ranks really exchanged gradients: every step of the 2-rank run logged bytes sent.
        var lines = File.ReadAllLines(Path.Combine(_dir.Path, "lm-ranks", "metrics.csv"));
        int bytes = Array.IndexOf(lines[0].Split(','), "comm_bytes");
        Assert.All(lines.Skip(1).Where(l => l.StartsWith("step,", StringComparison.Ordinal)), l => Assert.True(double.Parse(l.Split(',')[bytes], CultureInfo.InvariantCulture) > 0, l));
    }

    [Fact]
    public void ThreeRanksInRankOrderMatchThreeUnequalMicroBatches()
    {
        // 20 samples per batch split 6/7/7.
        Ok(Single(Args("micro3", batch: 20, more: ["--micro-batches", "3"])));
        Ok(MpiJob.Run(3, "NormSharp.Cli.dll", Args("ranks3", batch: 20, more: ["--distributed", "--reduction", "rank-order"])));
        Assert.Equal(Model("micro3"), Model("ranks3"));
        Assert.Equal(Metrics("micro3"), Metrics("ranks3"));
    }

    [Fact]
    public void ARankThatFailsEndsTheJobWithAnErrorNamingIt()
    {
        // Open MPI starts rank 1 with another command (MPMD): its data folder does not exist.
        var good = Args("bad-input", more: ["--distributed"]);
        var bad = good.Select(a => a == _data ? Path.Combine(_dir.Path, "missing") : a).ToArray();
        var r = ChildProcess.Run(MpiJob.Mpirun,
            ["--allow-run-as-root", "--oversubscribe", "-np", "1", "dotnet", Cli, .. good, ":", "-np", "1", "dotnet", Cli, .. bad],
            TimeSpan.FromSeconds(120), new Dictionary<string, string> { ["TERM"] = "dumb" });
        Assert.False(r.TimedOut, "the job hung");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error: rank 1: ", r.Error + r.Output);
        Assert.Contains("missing", r.Error + r.Output);
    }

    [Theory]
    [InlineData("--hidden", "16,8", "builds a different model")]
    [InlineData("--lr", "0.01", "different model or optimizer")]
    [InlineData("--seed", "8", "different run")]
    public void RanksStartedWithDifferentSettingsAreRefusedAtStartUp(string option, string value, string expected)
    {
        var good = Args("mismatch", more: ["--distributed"]);
        var bad = good.ToArray();
        int at = Array.IndexOf(bad, option);
        if (at >= 0) bad[at + 1] = value;
        else bad = [.. bad, option, value];
        var r = ChildProcess.Run(MpiJob.Mpirun,
            ["--allow-run-as-root", "--oversubscribe", "-np", "1", "dotnet", Cli, .. good, ":", "-np", "1", "dotnet", Cli, .. bad],
            TimeSpan.FromSeconds(120), new Dictionary<string, string> { ["TERM"] = "dumb" });
        Assert.False(r.TimedOut, "the job hung");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(expected, r.Error + r.Output);
        Assert.Contains("rank 1", r.Error + r.Output);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "mismatch", "model.safetensors")));
    }

    [Fact]
    public void ARunKilledOnTwoRanksResumesInOneProcessWithTwoMicroBatchesToTheSameWeights()
    {
        string[] Long(string run, params string[] more)
        {
            var a = Args(run, more: ["--checkpoint-every", "2", .. more]);
            a[Array.IndexOf(a, "--hidden") + 1] = "256,256";
            a[Array.IndexOf(a, "--epochs") + 1] = "6";
            return a;
        }
        Ok(MpiJob.Run(2, "NormSharp.Cli.dll", Long("straight", "--distributed")));

        string killed = Path.Combine(_dir.Path, "killed");
        var psi = new System.Diagnostics.ProcessStartInfo(MpiJob.Mpirun) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var x in (string[])["--allow-run-as-root", "--oversubscribe", "-np", "2", "dotnet", Cli, .. Long("killed", "--distributed")]) psi.ArgumentList.Add(x);
        psi.Environment["TERM"] = "dumb";
        using (var job = System.Diagnostics.Process.Start(psi)!)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (NormSharp.Training.CheckpointManager.Latest(killed) is null && !job.HasExited && sw.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(10);
            Thread.Sleep(50);
            job.Kill(entireProcessTree: true); // the whole job dies at once: no chance to finish or clean up
            job.WaitForExit();
        }
        Assert.True(NormSharp.Training.CheckpointManager.Latest(killed) is not null, "no checkpoint was written before the kill");
        Assert.False(File.Exists(Path.Combine(killed, "model.safetensors")), "the job finished before it was killed; the test needs a longer run");

        Ok(Single(["train", "--resume", killed, "--micro-batches", "2", "--threads", "1"]));
        Assert.Equal(Model("straight"), Model("killed"));
    }

    [Fact]
    public void ClaimKRunsItsRanksThroughMpirunAndReportsTheCommunication()
    {
        var profile = NormSharp.Experiments.ExperimentProfile.Quick with { Name = "tiny", TrainImages = 120 };
        string outDir = Path.Combine(_dir.Path, "reproduction");
        var split = NormSharp.Data.IdxDatasetFolder.Load(_data, "synthetic");
        var runner = new NormSharp.Experiments.ExperimentRunner(outDir, _ => split)
        {
            DistributedLauncher = (config, ranks, runDir) =>
            {
                var r = MpiJob.Run(ranks, "NormSharp.Cli.dll", ["train", "--config", config, "--distributed", "--out", runDir]);
                return (r.ExitCode, r.Error);
            },
        };
        var claims = NormSharp.Experiments.ReproductionSuite.Run(new NormSharp.Experiments.SuiteContext(profile, "fashion-mnist", 2, runner, _data), ["K"]);
        var k = Assert.Single(claims);
        Assert.Equal("K", k.Id);
        Assert.Null(k.MissingEvidence);
        Assert.Equal(3, k.Findings.Count);
        Assert.Equal(5 * 2, runner.Results.Count);
        Assert.All(runner.Results, r => Assert.Null(r.Failure));
        Assert.True(k.Evidence["comm_bytes_per_step.SyncBN_2x4"] > k.Evidence["comm_bytes_per_step.LN_2x4"], "SyncBatchNorm sends its statistics too");
        Assert.True(k.Evidence["comm_ms_per_step.LN_2x4"] > 0);
    }
}
