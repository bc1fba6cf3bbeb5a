using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using NormSharp.Cli;
using NormSharp.IO;
using NormSharp.IO.Safetensors;
using NormSharp.Tests.Support;
using NormSharp.Training;
using Xunit.Abstractions;

namespace NormSharp.Tests.Training;

/// <summary>
/// What the fault suite shares: a small dataset and the weights of one uninterrupted run, which every faulted and
/// resumed run must end with, bit for bit.
/// </summary>
public sealed class FaultSuiteFixture : IDisposable
{
    public const int Steps = 100;

    private readonly TestData.TempDir _dir = new();

    public FaultSuiteFixture()
    {
        Data = Path.Combine(_dir.Path, "data");
        Directory.CreateDirectory(Data);
        TestData.WriteFolder(Data, train: 400, test: 100);
        Straight = Path.Combine(_dir.Path, "straight");
        var r = FaultInjectionTests.Cli(FaultInjectionTests.TrainArgs(Data, Straight));
        if (r.ExitCode != 0) throw new InvalidOperationException($"the reference run failed (exit {r.ExitCode}): {r.Error}");
    }

    /// <summary>The data folder.</summary>
    public string Data { get; }

    /// <summary>The uninterrupted run's folder.</summary>
    public string Straight { get; }

    /// <summary>A fresh folder for one case.</summary>
    public string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(_dir.Path, name + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The fault-injection suite: real <c>normsharp train</c> processes killed with SIGKILL at random steps with a
/// checkpoint every step, stopped by SIGTERM and SIGINT (once and twice), run out of disk space (a small tmpfs
/// when the test may mount one in a user namespace, otherwise the writers' full-disk seam), resumed from a damaged
/// newest checkpoint, and sharing a folder with a second process. Every case must end as the contract says and
/// every resumed run with exactly the weights and metrics of the uninterrupted run. Each test writes how many
/// cases ran and how each ended.
/// </summary>
public sealed class FaultInjectionTests(FaultSuiteFixture suite, ITestOutputHelper output) : IClassFixture<FaultSuiteFixture>
{
    private const int SIGINT = 2, SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    internal static string CliDll => Path.Combine(AppContext.BaseDirectory, "NormSharp.Cli.dll");

    internal static string[] TrainArgs(string data, string run, long checkpointEvery = 1) =>
        ["train", "--data-dir", data, "--hidden", "128,128", "--epochs", "2", "--batch-size", "8", "--lr", "0.003", "--seed", "9", "--threads", "2", "--checkpoint-every", checkpointEvery.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", run];

    internal static ChildProcess.Result Cli(IEnumerable<string> args, string? workingDirectory = null) =>
        ChildProcess.Run("dotnet", [CliDll, .. args], TimeSpan.FromSeconds(120), workingDirectory: workingDirectory);

    /// <summary>A training process whose output is collected as it comes (a full pipe would stall it).</summary>
    private sealed class Training : IDisposable
    {
        private readonly StringBuilder _err = new(), _out = new();

        public Training(IEnumerable<string> args, string? workingDirectory = null)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
            psi.ArgumentList.Add(CliDll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            Process = new Process { StartInfo = psi };
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_err) _err.AppendLine(e.Data); };
            Process.Start();
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string Error { get { lock (_err) return _err.ToString(); } }

        public string Output { get { lock (_out) return _out.ToString(); } }

        public int Wait()
        {
            if (!Process.WaitForExit(120_000))
            {
                Process.Kill(entireProcessTree: true);
                Assert.Fail("the training process did not end within two minutes");
            }
            Process.WaitForExit();
            return Process.ExitCode;
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    private static IReadOnlyList<int> StepsLogged(string run)
    {
        try
        {
            using var fs = new FileStream(Path.Combine(run, "metrics.csv"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var r = new StreamReader(fs);
            // Complete rows only: a row being written has no newline yet.
            var text = r.ReadToEnd();
            return text[..(text.LastIndexOf('\n') + 1)].Split('\n').Where(l => l.StartsWith("step,")).Select(l => int.Parse(l.Split(',')[2])).ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static void WaitForSteps(Training p, string run, int steps)
    {
        var sw = Stopwatch.StartNew();
        while (StepsLogged(run).Count < steps)
        {
            if (p.Process.HasExited) Assert.Fail($"the run ended (exit {p.Process.ExitCode}) before its step {steps}: {p.Error}");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(90), $"timed out waiting for step {steps}");
            Thread.Sleep(2);
        }
    }

    private void AssertFinishedAsTheStraightRun(string run)
    {
        var a = SafetensorsFile.Read(Path.Combine(suite.Straight, "model.safetensors"));
        var b = SafetensorsFile.Read(Path.Combine(run, "model.safetensors"));
        Assert.Equal(a.Entries.Select(e => e.Name), b.Entries.Select(e => e.Name));
        foreach (var e in a.Entries) Assert.True(a.GetTensor(e.Name).ToArray().SequenceEqual(b.GetTensor(e.Name).ToArray()), $"{run}: tensor {e.Name} differs from the uninterrupted run's");
        Assert.Equal(Enumerable.Range(1, FaultSuiteFixture.Steps), StepsLogged(run));
        Assert.Contains("\"status\": \"finished\"", File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.DoesNotContain(Directory.GetFiles(run), f => AtomicFile.IsTemporaryFile(Path.GetFileName(f)));
    }

    private static ChildProcess.Result Resume(string run, string? workingDirectory = null) => Cli(["train", "--resume", run], workingDirectory);

    private static string Newest(string run) => CheckpointManager.Latest(run) is { } c ? $"step {c.Step}" : "none";

    [Fact]
    public void KillNineAtRandomStepsWithACheckpointEveryStepLosesNoWork()
    {
        var rng = new Random(20260115);
        var outcomes = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            int at = rng.Next(1, FaultSuiteFixture.Steps);
            string run = suite.NewFolder("kill");
            string newest;
            using (var p = new Training(TrainArgs(suite.Data, run)))
            {
                WaitForSteps(p, run, at);
                p.Process.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
                p.Process.WaitForExit();
                Assert.Equal(128 + SIGKILL, p.Process.ExitCode);
                newest = Newest(run);
            }
            Assert.False(File.Exists(Path.Combine(run, "summary.json")));
            var r = Resume(run);
            Assert.True(r.ExitCode == 0, $"resume after a kill at step {at}: exit {r.ExitCode}: {r.Error}");
            AssertFinishedAsTheStraightRun(run);
            outcomes.Add($"killed after {at}+ steps (newest checkpoint {newest}) -> resumed, exit 0, identical weights");
        }
        Report("kill -9 at random steps, --checkpoint-every 1", outcomes);
    }

    [Theory]
    [InlineData(SIGTERM, 143)]
    [InlineData(SIGINT, 130)]
    public void ASignalFinishesTheStepWritesACheckpointAndExitsWithItsCode(int signal, int expected)
    {
        var rng = new Random(signal);
        var outcomes = new List<string>();
        for (int i = 0; i < (signal == SIGTERM ? 3 : 1); i++)
        {
            int at = rng.Next(1, FaultSuiteFixture.Steps - 10);
            string run = suite.NewFolder("signal");
            using (var p = new Training(TrainArgs(suite.Data, run)))
            {
                WaitForSteps(p, run, at);
                Assert.Equal(0, SendSignal(p.Process.Id, signal));
                Assert.Equal(expected, p.Wait());
                Assert.Contains("finishing the current step and writing a checkpoint", p.Error);
                Assert.DoesNotContain("model.safetensors", p.Output);
            }
            var logged = StepsLogged(run);
            Assert.True(logged.Count < FaultSuiteFixture.Steps);
            // The step in flight was finished and the checkpoint holds exactly the steps logged: nothing lost.
            Assert.Equal(logged.Count, CheckpointManager.Latest(run)!.Step);
            Assert.False(File.Exists(Path.Combine(run, "model.safetensors")), "an interrupted run writes no model");
            Assert.Contains("\"status\": \"interrupted\"", File.ReadAllText(Path.Combine(run, "summary.json")));
            var r = Resume(run);
            Assert.True(r.ExitCode == 0, r.Error);
            AssertFinishedAsTheStraightRun(run);
            outcomes.Add($"signal {signal} after {at}+ steps -> exit {expected} with a checkpoint of step {logged.Count} and no model; resumed, identical weights");
        }
        Report(signal == SIGTERM ? "SIGTERM" : "SIGINT", outcomes);
    }

    /// <summary>
    /// A second signal does not wait for the step: with steps of a wide network taking a good fraction of a second,
    /// the second SIGTERM, sent once the first has been acknowledged, ends the process before the step in flight
    /// is logged. The folder stays resumable.
    /// </summary>
    [Fact]
    public void ASecondSignalExitsAtOnce()
    {
        string run = suite.NewFolder("twice");
        string[] slow = ["train", "--data-dir", suite.Data, "--hidden", "2500,2500", "--epochs", "1", "--batch-size", "100", "--threads", "2", "--out", run];
        int logged;
        using (var p = new Training(slow))
        {
            WaitForSteps(p, run, 1);
            Assert.Equal(0, SendSignal(p.Process.Id, SIGTERM));
            var sw = Stopwatch.StartNew();
            while (!p.Error.Contains("received SIGTERM:") && sw.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(1);
            Assert.True(SendSignal(p.Process.Id, SIGTERM) == 0, $"the second signal found no process (it ended after the first):\n{p.Error}");
            int code = p.Wait();
            Assert.True(code == 143, $"exit {code}:\n{p.Error}");
            Assert.True(p.Error.Contains("received SIGTERM again: exiting at once"), p.Error);
            logged = StepsLogged(run).Count;
        }
        Assert.True(logged < 4, $"{logged} steps logged: the second signal waited for the run");
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")));
        var r = Resume(run);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(Enumerable.Range(1, 4), StepsLogged(run));
        Report("SIGTERM twice", [$"the second signal ended the process at once (exit 143, {logged} of 4 steps logged); resumed, exit 0, every step logged once"]);
    }

    /// <summary>Defect 5 through the command line: killed before its first checkpoint, the run is started again by the same command, or resumed from step 0.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ARunKilledBeforeItsFirstCheckpointStartsAgain(bool withResume)
    {
        string run = suite.NewFolder("early");
        using (var p = new Training(TrainArgs(suite.Data, run, checkpointEvery: 0)))
        {
            WaitForSteps(p, run, 10);
            p.Process.Kill(entireProcessTree: true);
            p.Process.WaitForExit();
        }
        Assert.Empty(CheckpointManager.List(run));
        var r = withResume ? Resume(run) : Cli(TrainArgs(suite.Data, run, checkpointEvery: 0));
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains(withResume ? "no checkpoint yet: starting from step 0" : "starting it again from step 0", r.Error);
        AssertFinishedAsTheStraightRun(run);
        Report("killed before the first checkpoint", [$"{(withResume ? "--resume" : "the same command")} -> exit 0, identical weights"]);
    }

    [Theory]
    [InlineData("flipped data byte")]
    [InlineData("truncated")]
    [InlineData("empty")]
    [InlineData("garbled header")]
    public void ADamagedNewestCheckpointFallsBackToThePreviousOne(string damage)
    {
        string run = suite.NewFolder("damaged");
        using (var p = new Training(TrainArgs(suite.Data, run)))
        {
            WaitForSteps(p, run, 30 + damage.Length);
            p.Process.Kill(entireProcessTree: true);
            p.Process.WaitForExit();
        }
        var newest = CheckpointManager.Latest(run)!;
        var bytes = File.ReadAllBytes(newest.Path);
        byte[] damaged = damage switch
        {
            "flipped data byte" => Flip(bytes, bytes.Length - 100),
            "truncated" => bytes[..(bytes.Length / 2)],
            "empty" => [],
            _ => Flip(bytes, 20),
        };
        File.WriteAllBytes(newest.Path, damaged);
        var r = Resume(run);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains($"the checkpoint of step {newest.Step} is damaged", r.Error);
        Assert.Contains("falling back to the checkpoint of step", r.Error);
        AssertFinishedAsTheStraightRun(run);
        Report("corrupted newest checkpoint", [$"{damage} (step {newest.Step}) -> warning, fell back, exit 0, identical weights"]);

        static byte[] Flip(byte[] b, int at)
        {
            var c = (byte[])b.Clone();
            c[at] ^= 0x5A;
            return c;
        }
    }

    [Fact]
    public void ASecondProcessOnTheSameFolderIsRefusedAndTheFirstIsUndisturbed()
    {
        string run = suite.NewFolder("shared");
        var outcomes = new List<string>();
        using (var first = new Training(TrainArgs(suite.Data, run)))
        {
            WaitForSteps(first, run, 5);
            // Held stopped (its lock held) while the others try, so a fast machine cannot finish it first.
            Assert.Equal(0, SendSignal(first.Process.Id, SIGSTOP));
            ChildProcess.Result second, resume;
            try
            {
                second = Cli(TrainArgs(suite.Data, run));
                resume = Resume(run);
            }
            finally
            {
                SendSignal(first.Process.Id, SIGCONT);
            }
            foreach (var (what, r) in new[] { ("a second train --out", second), ("a train --resume", resume) })
            {
                Assert.True(r.ExitCode == 1, $"{what}: exit {r.ExitCode}: {r.Error}");
                Assert.Contains("in use by another training process", r.Error);
                Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                outcomes.Add($"{what} while the first trains -> exit 1, 'in use by another training process'");
            }
            Assert.Equal(0, first.Wait());
        }
        AssertFinishedAsTheStraightRun(run);
        outcomes.Add("the first run -> exit 0, every step logged once, identical weights");
        Report("two processes on one folder", outcomes);
    }

    /// <summary>Defect 10: a run started with a relative --data-dir resumes from any working directory; data that moved is found again with --data-dir, and verified.</summary>
    [Fact]
    public void AResumeFromAnotherDirectoryFindsTheRunsData()
    {
        string work = suite.NewFolder("cwd");
        string data = Path.Combine(work, "data", "rel");
        Directory.CreateDirectory(data);
        foreach (var f in Directory.GetFiles(suite.Data)) File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        string run = Path.Combine(work, "run");
        using (var p = new Training(TrainArgs("data/rel", "run"), workingDirectory: work))
        {
            WaitForSteps(p, run, 20);
            Assert.Equal(0, SendSignal(p.Process.Id, SIGTERM));
            Assert.Equal(143, p.Wait());
        }
        string elsewhere = suite.NewFolder("elsewhere");
        string moved = Path.Combine(elsewhere, "moved");
        Directory.Move(data, moved);
        var lost = Resume(run, elsewhere);
        Assert.Equal(2, lost.ExitCode);
        Assert.Contains(data, lost.Error);
        Assert.Contains("--data-dir", lost.Error);
        var r = Cli(["train", "--resume", run, "--data-dir", "moved"], elsewhere);
        Assert.True(r.ExitCode == 0, r.Error);
        AssertFinishedAsTheStraightRun(run);
        Report("resume from another directory", ["relative --data-dir, resumed elsewhere after the data moved -> exit 2 naming the stored folder; with --data-dir NEW -> exit 0, identical weights"]);
    }

    /// <summary>
    /// A disk that fills up mid-run: a small tmpfs mounted in a private mount namespace when the test may (unshare);
    /// otherwise the same run in this process with the writers' full-disk seam. Either way the run stops with exit 1
    /// and the error, its newest checkpoint intact, and resumes (once there is room) to the uninterrupted run's weights.
    /// </summary>
    [Fact]
    public void AFullDiskStopsTheRunWithExitOneAndItResumesOnceThereIsRoom()
    {
        var outcomes = CanMountTmpfs() ? FullDiskOnTmpfs() : FullDiskThroughTheSeam([("checkpoint", 3), ("checkpoint", 7)]);
        Report("full disk", outcomes);
    }

    /// <summary>Each of the run's writers meeting a full disk (through the seam): exit 1 with the error, nothing torn, and a resume that loses nothing.</summary>
    [Fact]
    public void EveryWriterMeetingAFullDiskEndsTheRunCleanly() =>
        Report("full disk at each writer (seam)", FullDiskThroughTheSeam([("metrics.csv", 25), ("checkpoint", 40), ("summary.json", 1), ("model.safetensors", 1)]));

    private List<string> FullDiskThroughTheSeam(IEnumerable<(string File, int FailAt)> cases)
    {
        var outcomes = new List<string>();
        foreach (var (file, failAt) in cases)
        {
            string run = suite.NewFolder("seam");
            int writes = 0;
            WriteFaults.NoSpaceLeft = path => path.StartsWith(run, StringComparison.Ordinal) && Path.GetFileName(path).Contains(file, StringComparison.Ordinal) && Interlocked.Increment(ref writes) >= failAt;
            int code;
            var err = new StringWriter();
            try
            {
                code = CommandLine.Run(TrainArgs(suite.Data, run), new StringWriter(), err, interactive: false);
            }
            finally
            {
                WriteFaults.NoSpaceLeft = null;
            }
            Assert.True(code == 1, $"{file}: exit {code}: {err}");
            Assert.Contains("No space left on device", err.ToString());
            Assert.DoesNotContain(Directory.GetFiles(run), f => AtomicFile.IsTemporaryFile(Path.GetFileName(f)));
            string newest = Newest(run);
            var r = Resume(run);
            Assert.True(r.ExitCode == 0, $"{file}: resume: {r.Error}");
            AssertFinishedAsTheStraightRun(run);
            outcomes.Add($"writing {file} fails (write {failAt}) -> exit 1 'No space left on device', newest checkpoint {newest} intact; resumed, identical weights");
        }
        return outcomes;
    }

    private static bool CanMountTmpfs()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/unshare")) return false;
        using var probe = new TestData.TempDir();
        var r = ChildProcess.Run("/usr/bin/unshare", ["-rm", "sh", "-c", $"mount -t tmpfs -o size=1m tmpfs '{probe.Path}' && touch '{probe.Path}/x'"], TimeSpan.FromSeconds(20));
        return r.ExitCode == 0;
    }

    private List<string> FullDiskOnTmpfs()
    {
        var outcomes = new List<string>();
        // A checkpoint here is about 1.4 MB and the run keeps three plus the one being written.
        foreach (string size in new[] { "3m", "5m" })
        {
            string work = suite.NewFolder("tmpfs");
            string mount = Directory.CreateDirectory(Path.Combine(work, "mnt")).FullName;
            string copy = Path.Combine(work, "copy");
            string run = Path.Combine(mount, "run");
            string cli = $"dotnet '{CliDll}'";
            string script = string.Join("\n",
                "set -u",
                $"mount -t tmpfs -o size={size} tmpfs '{mount}'",
                $"{cli} {string.Join(" ", TrainArgs(suite.Data, run).Select(a => $"'{a}'"))} >'{work}/full.out' 2>'{work}/full.err'; echo $? >'{work}/full.code'",
                $"mkdir -p '{copy}' && cp -a '{run}' '{copy}/full'",
                $"mount -o remount,size=256m '{mount}'",
                $"{cli} train --resume '{run}' >'{work}/resume.out' 2>'{work}/resume.err'; echo $? >'{work}/resume.code'",
                $"cp -a '{run}' '{copy}/resumed'");
            var r = ChildProcess.Run("/usr/bin/unshare", ["-rm", "sh", "-c", script], TimeSpan.FromSeconds(150));
            Assert.True(r.ExitCode == 0, $"the tmpfs script failed: {r.Error}");
            string fullErr = File.ReadAllText(Path.Combine(work, "full.err"));
            Assert.True(File.ReadAllText(Path.Combine(work, "full.code")).Trim() == "1", $"tmpfs {size}: {fullErr}");
            Assert.Contains("No space left on device", fullErr);
            string full = Path.Combine(copy, "full");
            var newest = CheckpointManager.Latest(full);
            Assert.NotNull(newest);
            Checkpoint.Load(newest.Path); // intact
            Assert.True(File.ReadAllText(Path.Combine(work, "resume.code")).Trim() == "0", File.ReadAllText(Path.Combine(work, "resume.err")));
            AssertFinishedAsTheStraightRun(Path.Combine(copy, "resumed"));
            outcomes.Add($"tmpfs of {size} fills at step {StepsLogged(full).Count} -> exit 1 'No space left on device', newest checkpoint step {newest.Step} intact; remounted larger, resumed, identical weights");
        }
        return outcomes;
    }

    private void Report(string faultClass, IReadOnlyList<string> outcomes)
    {
        output.WriteLine($"fault class: {faultClass}: {outcomes.Count} case{(outcomes.Count == 1 ? "" : "s")}");
        foreach (var o in outcomes) output.WriteLine("  " + o);
    }
}
