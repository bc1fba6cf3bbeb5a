using System.Diagnostics;
using NormSharp.Data;
using NormSharp.IO.Safetensors;
using NormSharp.Experiments.Recipes;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

/// <summary>Numerical faults, interrupted processes and resumption without losing work.</summary>
public class FaultToleranceTests
{
    private static TrainingConfig Config() => new()
    {
        Dataset = "synthetic",
        Hidden = [32],
        Norm = NormSharp.Layers.NormKind.Layer,
        BatchSize = 16,
        Epochs = 2,
        LearningRate = 3e-3,
        Seed = 5,
        Threads = 2,
        Standardize = false,
    };

    private static DatasetSplit PoisonedData(string dir)
    {
        TestData.WriteFolder(dir);
        var data = IdxDatasetFolder.Load(dir, "synthetic");
        data.Train.Images[37 * 784 + 100] = float.NaN;
        return data;
    }

    [Fact]
    public void StopPolicyNamesTheFaultAndTheLayer()
    {
        using var dir = new TestData.TempDir();
        var summary = new RecipeRun(Config(), PoisonedData(dir.Path), Path.Combine(dir.Path, "run")).Run();
        Assert.True(summary.Diverged);
        Assert.Contains("non-finite loss", summary.StopReason);
        Assert.Contains("layers.0", summary.StopReason);
        Assert.False(File.Exists(Path.Combine(dir.Path, "run", "model.safetensors")));
    }

    [Fact]
    public void SkipPolicySkipsOnlyThePoisonedSteps()
    {
        using var dir = new TestData.TempDir();
        var messages = new List<string>();
        var trainer = new RecipeRun(Config() with { NanPolicy = NanPolicy.Skip }, PoisonedData(dir.Path), null);
        trainer.Progress += p => { if (p.Message is { } m && m.StartsWith("skipped")) messages.Add(m); };
        var summary = trainer.Run();
        Assert.False(summary.Diverged);
        Assert.Equal(2, messages.Count); // the poisoned image is in one batch per epoch
        Assert.Equal(2 * 15 - 2, summary.Steps);
        Assert.True(summary.TestAccuracy > 0.9);
    }

    [Fact]
    public void RollbackPolicyReturnsToTheLastCheckpointWithAHalvedRate()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        var config = Config() with { Norm = NormSharp.Layers.NormKind.None, Optimizer = OptimizerKind.Sgd, LearningRate = 1e6, Momentum = 0.9, NanPolicy = NanPolicy.Rollback, CheckpointEvery = 3, Epochs = 2 };
        var messages = new List<string>();
        var trainer = new RecipeRun(config, data, Path.Combine(dir.Path, "run"));
        trainer.Progress += p => { if (p.Message is { } m && m.StartsWith("rolled back")) messages.Add(m); };
        trainer.Run();
        Assert.NotEmpty(messages);
        Assert.Contains("learning rate halved", messages[0]);
    }

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "NormSharp.Cli.dll");

    private static Process StartCli(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static string[] TrainArgs(string data, string run) =>
        ["train", "--data-dir", data, "--hidden", "1000,1000", "--epochs", "3", "--batch-size", "8", "--lr", "0.001", "--threads", "2", "--checkpoint-every", "10", "--seed", "9", "--out", run];

    private static int StepsLogged(string run)
    {
        try
        {
            using var fs = new FileStream(Path.Combine(run, "metrics.csv"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var r = new StreamReader(fs);
            return r.ReadToEnd().Split('\n').Count(l => l.StartsWith("step,"));
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static void WaitFor(Func<bool> condition, Process p, string run)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (p.HasExited)
                Assert.Fail($"the training process ended (exit {p.ExitCode}) after {sw.ElapsedMilliseconds} ms with {StepsLogged(run)} steps logged, before it could be interrupted: {p.StandardError.ReadToEnd()} {p.StandardOutput.ReadToEnd()}");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "timed out waiting for the training process");
            Thread.Sleep(5);
        }
    }

    private static void AssertSameWeights(string a, string b)
    {
        var fa = SafetensorsFile.Read(Path.Combine(a, "model.safetensors"));
        var fb = SafetensorsFile.Read(Path.Combine(b, "model.safetensors"));
        Assert.Equal(fa.Entries.Select(e => e.Name), fb.Entries.Select(e => e.Name));
        foreach (var e in fa.Entries) Assert.Equal(fa.GetTensor(e.Name).ToArray(), fb.GetTensor(e.Name).ToArray());
    }

    [Fact]
    public void AProcessKilledMidRunResumesToTheWeightsOfAnUninterruptedRun()
    {
        using var dir = new TestData.TempDir();
        string data = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(data);
        TestData.WriteFolder(data, train: 800, test: 100);

        string straight = Path.Combine(dir.Path, "straight");
        using (var p = StartCli(TrainArgs(data, straight)))
        {
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        }

        string killed = Path.Combine(dir.Path, "killed");
        using (var p = StartCli(TrainArgs(data, killed)))
        {
            WaitFor(() => StepsLogged(killed) >= 47, p, killed);
            p.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
            p.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(killed, "summary.json")));
        using (var p = StartCli("train", "--resume", killed))
        {
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        }
        AssertSameWeights(straight, killed);
        var steps = File.ReadAllLines(Path.Combine(killed, "metrics.csv")).Where(l => l.StartsWith("step,")).Select(l => int.Parse(l.Split(',')[2])).ToList();
        Assert.Equal(Enumerable.Range(1, 300), steps);
    }

    [Fact]
    public void CtrlCFinishesTheStepWritesACheckpointAndExitsCleanly()
    {
        using var dir = new TestData.TempDir();
        string data = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(data);
        TestData.WriteFolder(data, train: 800, test: 100);
        string run = Path.Combine(dir.Path, "run");
        using (var p = StartCli(TrainArgs(data, run)))
        {
            WaitFor(() => StepsLogged(run) >= 15, p, run);
            using (var kill = Process.Start("kill", ["-INT", p.Id.ToString()])) kill.WaitForExit();
            Assert.True(p.WaitForExit(30_000), "the process did not stop after SIGINT");
            Assert.Equal(0, p.ExitCode);
        }
        Assert.Contains("interrupted", File.ReadAllText(Path.Combine(run, "summary.json")));
        int stepsAtStop = StepsLogged(run);
        Assert.True(stepsAtStop < 300);
        using (var p = StartCli("train", "--resume", run))
        {
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        }
        Assert.Equal(300, StepsLogged(run));
    }
}
