using System.Text;
using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.IO;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

/// <summary>Checkpoints that are all-or-nothing and self-describing: checksums over everything, rotation, the last good one, fallback.</summary>
public class CheckpointManagerTests
{
    private sealed record Batch(Tensor X, Tensor Y);

    private static (Trainer<Batch> Trainer, Mlp Model, DivergenceDetector Detector, List<string> Notices) NewTrainer(string? runIdentity = null)
    {
        var model = new Mlp([4, 8, 1], NormKind.Layer, new Rng(3));
        var trainer = new Trainer<Batch>(model, new Adam(model.Parameters(), 1e-2), (m, b) => F.Mse(m.Forward(Variable.Constant(b.X)), b.Y)) { RunIdentity = runIdentity };
        var detector = new DivergenceDetector(window: 2);
        var notices = new List<string>();
        var progress = new ProgressReporter();
        progress.Progress += p => { if (p.Message is { } m) notices.Add(m); };
        trainer.Add(detector).Add(progress);
        return (trainer, model, detector, notices);
    }

    private static float[] Weights(Module m) => m.StateDict().SelectMany(t => t.Tensor.ToArray()).ToArray();

    [Fact]
    public void TheChecksumCoversTheMetadataSoAnEditedLearningRateIsRefused()
    {
        using var dir = new TestData.TempDir();
        var (trainer, _, _, _) = NewTrainer();
        var manager = new CheckpointManager(dir.Path);
        Assert.True(manager.Save(trainer));
        string path = CheckpointManager.Latest(dir.Path)!.Path;
        Checkpoint.Load(path); // intact
        var bytes = File.ReadAllBytes(path);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToInt64(bytes, 0));
        foreach (var (from, to) in new[] { ("\"lr_scale\":\"1\"", "\"lr_scale\":\"9\""), ("\"step\":\"0\"", "\"step\":\"7\"") })
        {
            int at = header.IndexOf(from, StringComparison.Ordinal);
            Assert.True(at >= 0, $"{from} in {header}");
            var edited = (byte[])bytes.Clone();
            Encoding.UTF8.GetBytes(to).CopyTo(edited, 8 + at);
            File.WriteAllBytes(path, edited);
            var e = Assert.Throws<CorruptFileException>(() => Checkpoint.Load(path));
            Assert.Contains("checksum mismatch", e.Message);
        }
    }

    [Fact]
    public void KeepsTheNewestThreeAndTheLastGoodOne()
    {
        using var dir = new TestData.TempDir();
        var (trainer, _, detector, _) = NewTrainer();
        var manager = new CheckpointManager(dir.Path);
        void SaveAt(long step, double loss)
        {
            trainer.State.Step = step;
            detector.Observe(loss);
            detector.Observe(loss);
            Assert.True(manager.Save(trainer));
        }
        SaveAt(10, 1.0);   // good (the best so far)
        SaveAt(20, 1.5);   // good: within 2× the best
        SaveAt(30, 5.0);   // not good from here on
        SaveAt(40, 6.0);
        SaveAt(50, 7.0);
        Assert.Equal([20L, 30, 40, 50], manager.Checkpoints.Select(c => c.Step));
        Assert.Equal([true, false, false, false], manager.Checkpoints.Select(c => c.Good));
        SaveAt(60, 8.0);
        Assert.Equal([20L, 40, 50, 60], manager.Checkpoints.Select(c => c.Step));
        Assert.Equal(20, manager.LastGoodBefore(long.MaxValue)!.Step);
        SaveAt(70, 1.2);   // good again: the older good one may go
        Assert.Equal([50L, 60, 70], manager.Checkpoints.Select(c => c.Step));
    }

    [Fact]
    public void NeverWritesACheckpointFromNonFiniteWeights()
    {
        using var dir = new TestData.TempDir();
        var (trainer, model, _, notices) = NewTrainer();
        var manager = new CheckpointManager(dir.Path);
        trainer.State.Step = 5;
        Assert.True(manager.Save(trainer));
        trainer.State.Step = 6;
        model.Parameters()[1].Value.Span[0] = float.PositiveInfinity;
        Assert.False(manager.Save(trainer));
        Assert.Equal([5L], manager.Checkpoints.Select(c => c.Step));
        Assert.Contains(notices, n => n.Contains("no checkpoint of step 6") && n.Contains("non-finite") && n.Contains("of step 5"));
    }

    [Fact]
    public void ADamagedNewestCheckpointFallsBackToThePreviousWithAWarning()
    {
        using var dir = new TestData.TempDir();
        var (trainer, model, _, _) = NewTrainer();
        var manager = new CheckpointManager(dir.Path);
        var saved = new Dictionary<long, float[]>();
        for (long step = 1; step <= 3; step++)
        {
            trainer.State.Step = step;
            model.Parameters()[0].Value.Span[0] = step;
            manager.Save(trainer);
            saved[step] = Weights(model);
        }
        string newest = CheckpointManager.Latest(dir.Path)!.Path;
        var bytes = File.ReadAllBytes(newest);
        bytes[^3] ^= 0x10;
        File.WriteAllBytes(newest, bytes);

        var (again, againModel, _, _) = NewTrainer();
        var warnings = new List<string>();
        var from = new CheckpointManager(dir.Path).Restore(again, warnings.Add);
        Assert.Equal(2, from.Step);
        Assert.Equal(2, again.State.Step);
        Assert.Equal(saved[2], Weights(againModel));
        Assert.Contains("damaged", Assert.Single(warnings));
        Assert.Contains("falling back to the checkpoint of step 2", warnings[0]);
        Assert.True(File.Exists(newest + ".damaged"), "the damaged file is kept aside for inspection");
        Assert.Equal([1L, 2], manager.Checkpoints.Select(c => c.Step));
    }

    [Fact]
    public void EveryCheckpointDamagedIsAnErrorNamingEach()
    {
        using var dir = new TestData.TempDir();
        var (trainer, _, _, _) = NewTrainer();
        var manager = new CheckpointManager(dir.Path);
        trainer.State.Step = 4;
        manager.Save(trainer);
        File.WriteAllBytes(CheckpointManager.Latest(dir.Path)!.Path, [1, 2, 3]);
        var e = Assert.Throws<CorruptFileException>(() => manager.Restore(NewTrainer().Trainer, _ => { }));
        Assert.Contains("every checkpoint is damaged", e.Message);
        Assert.Contains("too short", e.Message);
    }

    [Fact]
    public void ACheckpointOfAnotherRunIsRefusedNotSkipped()
    {
        using var dir = new TestData.TempDir();
        var (mine, _, _, _) = NewTrainer(runIdentity: "aaaa");
        new CheckpointManager(dir.Path).Save(mine);
        var (other, otherModel, _, _) = NewTrainer(runIdentity: "bbbb");
        var before = Weights(otherModel);
        var e = Assert.Throws<ForeignCheckpointException>(() => new CheckpointManager(dir.Path).Restore(other, _ => { }));
        Assert.Contains("belongs to run aaaa", e.Message);
        Assert.Equal(before, Weights(otherModel));
        var (anonymous, _, _, _) = NewTrainer(runIdentity: null);
        new CheckpointManager(dir.Path).Restore(anonymous, _ => { }); // a trainer without an identity checks none
    }
}

/// <summary>The run folder's lock and the atomic writer's temporary files.</summary>
public class RunFolderTests
{
    [Fact]
    public void ASecondLockOnAFolderIsRefusedUntilTheFirstIsReleased()
    {
        using var dir = new TestData.TempDir();
        string run = Path.Combine(dir.Path, "run");
        using (var first = RunFolderLock.Acquire(run))
        {
            var e = Assert.Throws<RunFolderInUseException>(() => RunFolderLock.Acquire(run));
            Assert.Contains("in use by another training process", e.Message);
        }
        RunFolderLock.Acquire(run).Dispose();
        // The file stays, with its last owner for people to read (tools that take no lock, such as cat, read it any time).
        Assert.Contains($"pid {Environment.ProcessId}", File.ReadAllText(Path.Combine(run, RunFolderLock.FileName)));
    }

    [Fact]
    public void OrphanedTemporaryFilesAreRemovedAndNothingElse()
    {
        using var dir = new TestData.TempDir();
        string[] orphans = [".checkpoint-00000010.safetensors.4242.0123456789abcdef0123456789abcdef.tmp", ".summary.json.77.fedcba9876543210fedcba9876543210.tmp"];
        string[] keep = ["notes.tmp", ".hidden.tmp", "metrics.csv", ".lock"];
        foreach (var f in orphans.Concat(keep)) File.WriteAllText(Path.Combine(dir.Path, f), "x");
        Assert.Equal(orphans.Order(), AtomicFile.RemoveOrphans(dir.Path).Order());
        Assert.Equal(keep.Order(), Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void AWriteThatFailsForLackOfSpaceLeavesTheOldFileWhole()
    {
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "a.txt");
        AtomicFile.WriteAllText(path, "old");
        WriteFaults.NoSpaceLeft = p => p == path;
        try
        {
            var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllText(path, "new"));
            Assert.Contains("No space left on device", e.Message);
        }
        finally
        {
            WriteFaults.NoSpaceLeft = null;
        }
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["a.txt"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }
}
