using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.IO.Safetensors;
using NormSharp.Experiments.Recipes;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

public class TrainerTests
{
    private static TrainingConfig SmallConfig(string norm = "layer") => new()
    {
        Dataset = "synthetic",
        Hidden = [32, 16],
        Norm = Spelling.Parse<NormSharp.Layers.NormKind>(norm, "norm"),
        BatchSize = 16,
        Epochs = 2,
        LearningRate = 3e-3,
        Seed = 3,
        Threads = 2,
    };

    private static DatasetSplit Data(string dir)
    {
        TestData.WriteFolder(dir);
        return IdxDatasetFolder.Load(dir, "synthetic");
    }

    [Theory]
    [InlineData("none")]
    [InlineData("layer")]
    [InlineData("batch")]
    [InlineData("rms")]
    public void LearnsTheSyntheticTaskAndWritesItsFiles(string norm)
    {
        using var dir = new TestData.TempDir();
        var data = Data(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        var summary = new RecipeRun(SmallConfig(norm), data, run).Run();
        Assert.False(summary.Diverged);
        Assert.True(summary.TestAccuracy > 0.9, $"{norm}: test accuracy {summary.TestAccuracy}");
        Assert.Equal(2 * 15, summary.Steps);
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.StartsWith("kind,epoch,step,loss", lines[0]);
        Assert.Equal(1 + 30 + 2, lines.Length);
        var model = SafetensorsFile.Read(Path.Combine(run, "model.safetensors"));
        Assert.Contains(model.Entries, e => e.Name == "layers.0.weight" && e.Shape.SequenceEqual([32, 784]));
        Assert.Contains("\"test_accuracy\"", File.ReadAllText(Path.Combine(run, "summary.json")));
    }

    [Fact]
    public void AResumedRunEndsWithTheWeightsOfAnUninterruptedOne()
    {
        using var dir = new TestData.TempDir();
        var data = Data(dir.Path);
        var config = SmallConfig() with { Epochs = 3, CheckpointEvery = 7 };
        string straight = Path.Combine(dir.Path, "straight");
        new RecipeRun(config, data, straight).Run();

        string interrupted = Path.Combine(dir.Path, "interrupted");
        var first = new RecipeRun(config, data, interrupted);
        using var cts = new CancellationTokenSource();
        first.Progress += p => { if (p.Step == 19) cts.Cancel(); };
        var partial = first.Run(cts.Token);
        Assert.Equal("interrupted", partial.StopReason);
        Assert.Equal(19, partial.Steps);
        var resumed = RecipeRun.Resume(interrupted, data).Run();
        Assert.Equal(45, resumed.Steps);

        var a = SafetensorsFile.Read(Path.Combine(straight, "model.safetensors"));
        var b = SafetensorsFile.Read(Path.Combine(interrupted, "model.safetensors"));
        foreach (var e in a.Entries) Assert.Equal(a.GetTensor(e.Name).ToArray(), b.GetTensor(e.Name).ToArray());
        // The metrics of the resumed run continue the file without gaps or duplicates.
        var steps = File.ReadAllLines(Path.Combine(interrupted, "metrics.csv")).Skip(1).Where(l => l.StartsWith("step,")).Select(l => int.Parse(l.Split(',')[2])).ToList();
        Assert.Equal(Enumerable.Range(1, 45), steps);
    }

    [Fact]
    public void ADamagedCheckpointIsDetected()
    {
        using var dir = new TestData.TempDir();
        var data = Data(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        new RecipeRun(SmallConfig() with { Epochs = 1 }, data, run).Run();
        string cp = CheckpointManager.Latest(run)!.Path;
        var bytes = File.ReadAllBytes(cp);
        bytes[^10] ^= 0x40;
        File.WriteAllBytes(cp, bytes);
        var e = Assert.Throws<CorruptFileException>(() => RecipeRun.Resume(run, data));
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void ARunFolderRefusesDataOtherThanItsOwn()
    {
        using var dir = new TestData.TempDir();
        var data = Data(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        new RecipeRun(SmallConfig() with { Epochs = 1 }, data, run).Run();
        var other = IdxDatasetFolder.Load(dir.Path, "synthetic");
        // Same folder, but a dataset with another input size: another run altogether, refused before any weight is touched.
        var shrunk = new DatasetSplit(
            new Dataset("s", other.Train.Images.Reshape(-1, 392).Narrow(0, 240), other.Train.Labels, 4, 14, 28),
            new Dataset("s", other.Test.Images.Reshape(-1, 392).Narrow(0, 60), other.Test.Labels, 4, 14, 28));
        long metrics = new FileInfo(Path.Combine(run, "metrics.csv")).Length;
        var e = Assert.Throws<InvalidValueException>(() => RecipeRun.Resume(run, shrunk));
        Assert.Contains("the data differ from the run's", e.Message);
        Assert.Equal(metrics, new FileInfo(Path.Combine(run, "metrics.csv")).Length);
    }

    [Fact]
    public void ACheckpointOfAnotherArchitectureIsRejectedBeforeAnythingChanges()
    {
        using var dir = new TestData.TempDir();
        var small = new NormSharp.Layers.Mlp([784, 16, 4], NormSharp.Layers.NormKind.Layer, new NormSharp.Tensors.Rng(1));
        var trainer = new Trainer<LabeledBatch>(small, new NormSharp.Optimizers.Adam(small.Parameters(), 1e-3), (m, b) => NormSharp.Autograd.F.CrossEntropy(m.Forward(NormSharp.Autograd.Variable.Constant(b.Inputs)), b.Labels));
        new CheckpointManager(dir.Path).Save(trainer);
        var wide = new NormSharp.Layers.Mlp([784, 32, 4], NormSharp.Layers.NormKind.Layer, new NormSharp.Tensors.Rng(2));
        var before = wide.StateDict().Select(t => t.Tensor.ToArray()).ToList();
        var other = new Trainer<LabeledBatch>(wide, new NormSharp.Optimizers.Adam(wide.Parameters(), 1e-3), (m, b) => NormSharp.Autograd.F.CrossEntropy(m.Forward(NormSharp.Autograd.Variable.Constant(b.Inputs)), b.Labels));
        var e = Assert.Throws<CorruptFileException>(() => other.LoadCheckpoint(CheckpointManager.Latest(dir.Path)!.Path));
        Assert.Contains("another architecture", e.Message);
        Assert.Equal(before, wide.StateDict().Select(t => t.Tensor.ToArray()).ToList());
    }

    [Fact]
    public void AnExplodingRunIsStoppedAndReportedAsDiverged()
    {
        using var dir = new TestData.TempDir();
        var data = Data(dir.Path);
        var config = SmallConfig("none") with { Optimizer = OptimizerKind.Sgd, LearningRate = 1e4, Momentum = 0.9, Epochs = 3 };
        var summary = new RecipeRun(config, data, Path.Combine(dir.Path, "run")).Run();
        Assert.True(summary.Diverged);
        Assert.NotNull(summary.StopReason);
    }

    [Fact]
    public void TheSameSeedGivesTheSameRun()
    {
        using var dir = new TestData.TempDir();
        var data = Data(dir.Path);
        var a = new RecipeRun(SmallConfig(), data, null).Run();
        var b = new RecipeRun(SmallConfig(), data, null).Run();
        Assert.Equal(a.FinalTrainLoss, b.FinalTrainLoss);
        Assert.Equal(a.TestLoss, b.TestLoss);
    }
}

public class BatchNormLoneSampleTests
{
    [Fact]
    public void ALastBatchOfOneIsSkippedForBatchNormalization()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path, train: 33, test: 10);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        var config = new TrainingConfig { Hidden = [8], Norm = NormSharp.Layers.NormKind.Batch, BatchSize = 16, Epochs = 2, Threads = 2 };
        var summary = new RecipeRun(config, data, null).Run();
        Assert.False(summary.Diverged);
        Assert.Equal(4, summary.Steps);
    }
}

public class RunSummaryTests
{
    [Fact]
    public void NonFiniteNumbersAreWrittenAsNullAndReadBackAsNaN()
    {
        using var dir = new TestData.TempDir();
        var summary = new RunSummary
        {
            Dataset = "d", Norm = "none", Model = "m", BatchSize = 1, Epochs = 0, Steps = 2,
            FinalTrainLoss = double.NaN, TestLoss = double.PositiveInfinity, TestAccuracy = 0.1, SamplesPerSecond = 5,
            Diverged = true, StopReason = "non-finite loss", Seed = 1, Threads = 1,
        };
        string path = Path.Combine(dir.Path, "summary.json");
        summary.WriteAtomically(path);
        string json = File.ReadAllText(path);
        Assert.Contains("\"final_train_loss\": null", json);
        Assert.Contains("\"test_loss\": null", json);
        var back = RunSummary.Read(path);
        Assert.True(double.IsNaN(back.FinalTrainLoss));
        Assert.Equal(0.1, back.TestAccuracy);
    }
}
