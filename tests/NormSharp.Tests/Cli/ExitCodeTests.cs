using NormSharp.Cli;

namespace NormSharp.Tests.Cli;

/// <summary>
/// The exit-code contract of <c>normsharp train</c>: 0 finished, 1 diverged or failed at run time, 2 usage or
/// input error, 130/143 interrupted (those two, and a folder in use, need a second process: FaultInjectionTests).
/// </summary>
public class ExitCodeTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, interactive: false);
        return (code, o.ToString(), e.ToString());
    }

    private static string[] Small(string data, string run) => ["train", "--data-dir", data, "--hidden", "16", "--epochs", "1", "--batch-size", "16", "--threads", "2", "--out", run];

    [Fact]
    public void TheContractIsWrittenInTheHelp()
    {
        foreach (var command in new[] { new[] { "--help" }, new[] { "train", "--help" } })
        {
            var (code, output, _) = Run(command);
            Assert.Equal(0, code);
            foreach (var part in new[] { "Exit codes:", "0 ", "1 ", "2 ", "130", "143", "diverged" })
                Assert.Contains(part, output);
        }
    }

    [Fact]
    public void AFinishedRunExitsZeroAndWritesItsModel()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        var (code, output, err) = Run(Small(dir.Path, run));
        Assert.True(code == 0, err);
        Assert.Contains("model.safetensors", output);
        Assert.True(File.Exists(Path.Combine(run, "model.safetensors")));
        Assert.Contains("\"status\": \"finished\"", File.ReadAllText(Path.Combine(run, "summary.json")));
    }

    /// <summary>Defects 3 and 11: the early explosion is divergence: exit 1, a summary that says so, and no model (and no claim of one).</summary>
    [Fact]
    public void AnEarlyExplosionExitsOneWithASummaryAndNoModel()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        var (code, output, err) = Run("train", "--data-dir", dir.Path, "--hidden", "64", "--epochs", "2", "--batch-size", "64", "--lr", "1e3", "--threads", "2", "--out", run);
        Assert.True(code == 1, $"exit {code}: {output} {err}");
        Assert.Contains("diverged", output);
        Assert.Contains("exploded", output);
        Assert.DoesNotContain("model.safetensors", output);
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")));
        var summary = NormSharp.Experiments.Recipes.RunSummary.Read(Path.Combine(run, "summary.json"));
        Assert.Equal("diverged", summary.Status);
        Assert.Contains("exploded", summary.StopReason);
    }

    /// <summary>Defect 2: a loss that overflows at once is a diverged run with a written summary, not a crash.</summary>
    [Fact]
    public void AnOverflowingLearningRateExitsOneWithItsSummary()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        var (code, output, err) = Run([.. Small(dir.Path, run), "--lr", "1e308", "--optimizer", "sgd"]);
        Assert.True(code == 1, $"exit {code}: {output} {err}");
        Assert.DoesNotContain("ArgumentException", err);
        string json = File.ReadAllText(Path.Combine(run, "summary.json"));
        Assert.Contains("\"status\": \"diverged\"", json);
        Assert.Contains("null", json);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void AnEmptyOutputPathIsAUsageError(string path)
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        var (code, _, err) = Run(Small(dir.Path, path));
        Assert.Equal(2, code);
        Assert.Contains("--out needs a folder path", err);
    }

    [Fact]
    public void AnOutputPathThatIsAFileIsAUsageErrorAndTheFileIsKept()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string file = Path.Combine(dir.Path, "notes.txt");
        File.WriteAllText(file, "mine");
        var (code, _, err) = Run(Small(dir.Path, file));
        Assert.Equal(2, code);
        Assert.Contains("is a file", err);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void ASymbolicLinkLoopInTheDataFolderIsAnInputError()
    {
        using var dir = new TestData.TempDir();
        string data = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(data);
        TestData.WriteFolder(data);
        string images = Path.Combine(data, "train-images-idx3-ubyte");
        File.Delete(images);
        File.CreateSymbolicLink(Path.Combine(data, "a"), Path.Combine(data, "b"));
        File.CreateSymbolicLink(Path.Combine(data, "b"), Path.Combine(data, "a"));
        File.CreateSymbolicLink(images, Path.Combine(data, "a"));
        var (code, _, err) = Run(Small(data, Path.Combine(dir.Path, "run")));
        Assert.Equal(2, code);
        Assert.Contains("train-images-idx3-ubyte", err);
        Assert.Contains("loop", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        string loop = Path.Combine(dir.Path, "loop");
        File.CreateSymbolicLink(loop, loop);
        var (code2, _, err2) = Run(Small(loop, Path.Combine(dir.Path, "run2")));
        Assert.Equal(2, code2);
        Assert.Contains("loop", err2);
    }

    [Theory]
    [InlineData("--lr", "abc")]
    [InlineData("--epochs", "9")]
    [InlineData("--out", "elsewhere")]
    public void AResumeRefusesOptionsItWouldIgnore(string option, string value)
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        Assert.Equal(0, Run(Small(dir.Path, run)).Code);
        var (code, _, err) = Run("train", "--resume", run, option, value);
        Assert.Equal(2, code);
        Assert.Contains($"{option} cannot be given", err);
        Assert.Contains("its own settings", err);
    }

    [Fact]
    public void AModelTooLargeForMemoryExitsTwoWithTheFigureItNeeds()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        var (code, _, err) = Run("train", "--data-dir", dir.Path, "--hidden", "300000,300000", "--epochs", "1", "--threads", "2", "--out", run);
        Assert.Equal(2, code);
        Assert.Contains("needs about", err);
        Assert.Contains("GiB", err);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void ANewRunIntoAFolderWithAnotherRunIsAUsageErrorThatSaysHowToResume()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        Assert.Equal(0, Run(Small(dir.Path, run)).Code);
        var (code, _, err) = Run([.. Small(dir.Path, run), "--seed", "4"]);
        Assert.Equal(2, code);
        Assert.Contains("already holds a training run", err);
        Assert.Contains($"--resume {run}", err);
    }
}
