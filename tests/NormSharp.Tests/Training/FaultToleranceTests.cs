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

    /// <summary>
    /// Defect 1: with a checkpoint every step, the checkpoint written after the step that blew the weights up (to
    /// about 1e20) is not a state to return to; rollback goes to the last good one, lowers the rate cumulatively,
    /// and gives up after a bounded number of tries with the fault named.
    /// </summary>
    [Fact]
    public void RollbackGoesToTheLastGoodCheckpointAndGivesUpAfterBoundedTries()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        var config = Config() with { Norm = NormSharp.Layers.NormKind.None, Hidden = [64], Optimizer = OptimizerKind.Sgd, LearningRate = 1e3, NanPolicy = NanPolicy.Rollback, CheckpointEvery = 1, Epochs = 1 };
        var run = new RecipeRun(config, data, Path.Combine(dir.Path, "run"));
        var scales = new List<double>();
        var restoredMagnitudes = new List<double>();
        run.Progress += p =>
        {
            if (p.Message is not { } m || !m.StartsWith("rolled back")) return;
            scales.Add(run.Trainer.State.LearningRateScale);
            restoredMagnitudes.Add(run.Model.Parameters().Max(w => w.Value.ToArray().Max(v => Math.Abs(v))));
        };
        var summary = run.Run();
        Assert.True(summary.Diverged);
        Assert.Equal("diverged", summary.Status);
        Assert.InRange(scales.Count, 1, 10);
        // Halved at every rollback, cumulatively.
        Assert.Equal(Enumerable.Range(1, scales.Count).Select(i => Math.Pow(0.5, i)), scales);
        // Every state rolled back to holds sane weights, never the exploded ones of the checkpoint after the explosion.
        Assert.All(restoredMagnitudes, m => Assert.True(m < 100, $"rolled back to weights of magnitude {m}"));
        Assert.Contains("gave up after", summary.StopReason);
        Assert.True(File.Exists(Path.Combine(dir.Path, "run", "summary.json")));
    }

    /// <summary>Defect 1: cancellation (Ctrl-C, SIGTERM) is honoured while the run keeps rolling back.</summary>
    [Fact]
    public void CancellationEndsARunThatKeepsRollingBack()
    {
        using var dir = new TestData.TempDir();
        var data = PoisonedData(dir.Path);
        // The poisoned batch fails at every try: the run would roll back until its rate gives out.
        var config = Config() with { NanPolicy = NanPolicy.Rollback, CheckpointEvery = 1, Epochs = 3 };
        var run = new RecipeRun(config, data, Path.Combine(dir.Path, "run"));
        using var cts = new CancellationTokenSource();
        int rollbacks = 0;
        run.Progress += p => { if (p.Message is { } m && m.StartsWith("rolled back") && ++rollbacks == 2) cts.Cancel(); };
        var summary = run.Run(cts.Token);
        Assert.Equal(2, rollbacks);
        Assert.Equal("interrupted", summary.Status);
        Assert.Equal(0.25, run.Trainer.State.LearningRateScale);
        // The interruption's checkpoint carries the lowered rate, so a resume does not start over at full rate.
        var resumed = RecipeRun.Resume(Path.Combine(dir.Path, "run"), data);
        Assert.Equal(0.25, resumed.Trainer.State.LearningRateScale);
        resumed.Dispose();
    }

    /// <summary>Defect 2: every run that stops writes its summary, with non-finite numbers as null and the reason.</summary>
    [Fact]
    public void EveryStoppedRunWritesItsSummary()
    {
        using var dir = new TestData.TempDir();
        var data = PoisonedData(dir.Path);
        foreach (var (name, config) in new[]
        {
            ("stop", Config()),
            ("skip-limit", Config() with { NanPolicy = NanPolicy.Skip, LearningRate = 1e300, Optimizer = OptimizerKind.Sgd }),
            ("lr-1e308", Config() with { LearningRate = 1e308, Optimizer = OptimizerKind.Sgd }),
            ("no-steps", Config() with { TrainLimit = 1, BatchSize = 16, Norm = NormSharp.Layers.NormKind.Batch }),
            ("adding-rnn", Config() with { Model = ModelKind.Rnn, Cell = NormSharp.Layers.Recurrent.CellKind.Lstm, Task = SequenceTask.Adding, SequenceLength = 8, Hidden = [8], TrainLimit = 64, LearningRate = 1e308, Optimizer = OptimizerKind.Sgd }),
        })
        {
            string run = Path.Combine(dir.Path, name);
            var summary = new RecipeRun(config, name == "adding-rnn" ? null : data, run).Run();
            var json = File.ReadAllText(Path.Combine(run, "summary.json"));
            var back = RunSummary.Read(Path.Combine(run, "summary.json"));
            Assert.Equal(summary.Status, back.Status);
            if (name == "no-steps")
            {
                Assert.Equal("finished", back.Status);
                Assert.Contains("\"final_train_loss\": null", json);
                continue;
            }
            Assert.True(back.Diverged, name);
            Assert.Equal("diverged", back.Status);
            Assert.False(string.IsNullOrEmpty(back.StopReason), name);
            Assert.False(File.Exists(Path.Combine(run, "model.safetensors")), $"{name}: a diverged run writes no model");
        }
    }

    /// <summary>Defect 5: a run stopped before its first checkpoint can be started again, or resumed from step 0; another run may not take its folder.</summary>
    [Fact]
    public void ARunStoppedBeforeItsFirstCheckpointCanBeStartedAgainOrResumedFromStepZero()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        string run = Path.Combine(dir.Path, "run");
        // What a process killed in its first steps leaves: the manifest and a few metrics rows, no checkpoint.
        new RecipeRun(Config(), data, run).Dispose();
        File.WriteAllText(Path.Combine(run, "metrics.csv"), "kind,epoch,step\nstep,0,1\nstep,0,2\n");
        Assert.Empty(CheckpointManager.List(run));

        var occupied = Assert.Throws<RunFolderOccupiedException>(() => new RecipeRun(Config() with { Seed = 99 }, data, run));
        Assert.Contains("another configuration", occupied.Message);

        var notes = new List<string>();
        var resumed = RecipeRun.Resume(run, data, log: notes.Add);
        Assert.Contains(notes, n => n.Contains("no checkpoint yet: starting from step 0"));
        Assert.Equal(30, resumed.Run().Steps);

        new RecipeRun(Config(), data, Path.Combine(dir.Path, "fresh")).Run();
        // And the same command again, in a folder that never got a checkpoint, starts over.
        string again = Path.Combine(dir.Path, "again");
        new RecipeRun(Config(), data, again).Dispose();
        var restarted = new RecipeRun(Config(), data, again, log: notes.Add).Run();
        Assert.Equal(30, restarted.Steps);
        Assert.Contains(notes, n => n.Contains("stopped before its first checkpoint"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.Path, "fresh", "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
    }

    /// <summary>Defect 7: a checkpoint copied in from another run is refused, and the folder's own metrics, model and summary stay as they were.</summary>
    [Fact]
    public void AForeignCheckpointIsRefusedAndTheFolderIsLeftAsItWas()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        string mine = Path.Combine(dir.Path, "mine"), theirs = Path.Combine(dir.Path, "theirs");
        new RecipeRun(Config() with { CheckpointEvery = 4 }, data, mine).Run();
        new RecipeRun(Config() with { Seed = 77, Epochs = 3 }, data, theirs).Run();
        var foreign = CheckpointManager.Latest(theirs)!;
        File.Copy(foreign.Path, Path.Combine(mine, Path.GetFileName(foreign.Path)));
        var before = Directory.GetFiles(mine).Where(f => !f.EndsWith(".lock")).ToDictionary(f => f, File.ReadAllBytes);
        var e = Assert.Throws<NormSharp.Errors.ForeignCheckpointException>(() => RecipeRun.Resume(mine, data));
        Assert.Contains("belongs to run", e.Message);
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    /// <summary>Defect 10 (library side): the stored configuration names the data folder by its absolute path.</summary>
    [Fact]
    public void TheStoredConfigurationHoldsAbsolutePaths()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, dir.Path);
        using var run = new RecipeRun(Config() with { DataDir = relative }, data, Path.Combine(dir.Path, "run"));
        Assert.Equal(dir.Path, RecipeRun.ReadConfig(Path.Combine(dir.Path, "run")).DataDir);
        Assert.True(Path.IsPathRooted(run.Config.DataDir));
    }

    /// <summary>Defect 11: temporary files that a crash left behind are removed when the run starts again.</summary>
    [Fact]
    public void TemporaryFilesOfAnEarlierCrashAreRemovedOnTheNextStart()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        string run = Path.Combine(dir.Path, "run");
        var interrupted = new RecipeRun(Config() with { Epochs = 3 }, data, run);
        using (var cts = new CancellationTokenSource())
        {
            interrupted.Progress += p => { if (p.Step == 5) cts.Cancel(); };
            interrupted.Run(cts.Token);
        }
        string[] orphans = [".checkpoint-00000009.safetensors.31337.0123456789abcdef0123456789abcdef.tmp", ".summary.json.31337.fedcba9876543210fedcba9876543210.tmp"];
        foreach (var o in orphans) File.WriteAllText(Path.Combine(run, o), "half a file");
        var notes = new List<string>();
        RecipeRun.Resume(run, data, log: notes.Add).Run();
        Assert.All(orphans, o => Assert.False(File.Exists(Path.Combine(run, o))));
        Assert.Contains(notes, n => n.Contains("removed 2 temporary files"));
    }

    /// <summary>Defect 11: a model too large for memory is refused before anything is allocated or written, with the figure it needs.</summary>
    [Fact]
    public void AModelTooLargeForMemoryIsRefusedBeforeAllocationWithTheFigureItNeeds()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        string run = Path.Combine(dir.Path, "run");
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<NormSharp.Errors.InvalidValueException>(() => new RecipeRun(Config() with { Hidden = [200_000, 200_000] }, data, run));
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20, "refused before the weights were allocated");
        Assert.Contains("needs about", e.Message);
        Assert.Contains("GiB", e.Message);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void TheMemoryCheckNamesWhatTheModelNeedsAndWhatIsAvailable()
    {
        var estimate = MemoryEstimate.Of(Config() with { Hidden = [1000, 1000] }, 784, 1, 10, 1000);
        estimate.EnsureFits(estimate.TotalBytes);
        var e = Assert.Throws<NormSharp.Errors.InvalidValueException>(() => estimate.EnsureFits(estimate.TotalBytes / 2));
        Assert.Contains($"needs about {MemoryEstimate.Format(estimate.TotalBytes)}", e.Message);
        Assert.Contains($"only {MemoryEstimate.Format(estimate.TotalBytes / 2)} is available", e.Message);
        Assert.Contains($"{estimate.Parameters:N0} parameters", e.Message);
        Assert.InRange(estimate.Parameters, 1_800_010, 1_800_100); // 784-1000-1000-10 with layer norms: 1,800,010
    }

    /// <summary>The estimate counts the parameters the factory builds, for MLPs and recurrent cells alike.</summary>
    [Theory]
    [InlineData("mlp", "lstm")]
    [InlineData("rnn", "lstm")]
    [InlineData("rnn", "gru")]
    [InlineData("rnn", "rnn")]
    public void TheMemoryEstimateCountsTheParametersOfTheModel(string model, string cell)
    {
        var config = Config() with { Model = Spelling.Parse<ModelKind>(model, "model"), Cell = Spelling.Parse<NormSharp.Layers.Recurrent.CellKind>(cell, "cell"), Hidden = [48, 24] };
        var built = ModelFactory.BuildModel(config, 28, 28, 10, new NormSharp.Tensors.Rng(1));
        long actual = built.Parameters().Sum(p => (long)p.Value.Length);
        var estimate = MemoryEstimate.Of(config, config.Model == ModelKind.Mlp ? 784 : 28, config.Model == ModelKind.Mlp ? 1 : 28, 10, 1000);
        Assert.InRange(estimate.Parameters, actual, actual * 1.1);
    }
}
