using NormSharp.Cli;

namespace NormSharp.Tests.Cli;

/// <summary>The normsharp command, run in-process as a user would run it.</summary>
public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, interactive: false);
        return (code, o.ToString(), e.ToString());
    }

    public static TheoryData<string> CommandPaths()
    {
        var data = new TheoryData<string>();
        void Walk(NormSharp.Cli.Arguments.CommandSpec c, string path)
        {
            data.Add(path);
            foreach (var s in c.Subcommands) Walk(s, (path + " " + s.Name).Trim());
        }
        Walk(CommandLine.Root, "");
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void EveryCommandHasHelp(string path)
    {
        var args = path.Split(' ', StringSplitOptions.RemoveEmptyEntries).Append("--help").ToArray();
        var (code, output, _) = Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        // The root's name is the running executable's (normsharp when installed, the test host here).
        if (path.Length > 0) Assert.Contains(path, output);
        Assert.Contains("--help", output);
    }

    [Fact]
    public void HelpListsTheChoicesOfEveryEnumOption()
    {
        var (_, output, _) = Run("train", "--help");
        Assert.Contains("none|layer|batch|rms", output);
        Assert.Contains("rnn|lstm|ln-lstm|bn-lstm|gru|ln-gru", output);
        Assert.Contains("seq-mnist-rows|seq-mnist-pixels|seq-mnist-permuted|adding|copy", output);
        Assert.Contains("sgd|adam|adamw", output);
        Assert.Contains("stop|skip|rollback", output);
        Assert.Contains("[default: layer]", output);
        var (_, root, _) = Run("--help");
        Assert.Contains("Exit codes:", root);
    }

    [Fact]
    public void TabCompletionOffersOptionsAndChoices()
    {
        var options = CommandLine.Definition.Parse("train --no").GetCompletions().Select(c => c.Label).ToList();
        Assert.Contains("--norm", options);
        Assert.Contains("--no-standardize", options);
        var norms = CommandLine.Definition.Parse("train --norm ").GetCompletions().Select(c => c.Label).ToList();
        Assert.Equal(["batch", "layer", "none", "rms", "sync-batch", "weight"], norms.Order());
        var commands = CommandLine.Definition.Parse("").GetCompletions().Select(c => c.Label).ToList();
        Assert.Contains("reproduce", commands);
    }

    [Fact]
    public void ArgumentsCanComeFromAResponseFile()
    {
        using var dir = new TestData.TempDir();
        string rsp = Path.Combine(dir.Path, "args.rsp");
        File.WriteAllLines(rsp, ["train", "--norm group"]);
        var (code, _, err) = Run("@" + rsp);
        Assert.Equal(2, code);
        Assert.Contains("--norm must be one of", err);
        var (code2, _, err2) = Run("@" + Path.Combine(dir.Path, "missing.rsp"));
        Assert.Equal(2, code2);
        Assert.Single(err2.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void BenchTrainReportsTheBareAndTheTrainerPath()
    {
        using var dir = new TestData.TempDir();
        string json = Path.Combine(dir.Path, "train.json");
        var (code, output, err) = Run("bench", "train", "--norms", "layer", "--batch-sizes", "4", "--seconds", "0.05", "--json", json);
        Assert.True(code == 0, err);
        Assert.Contains("trainer", output);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(["bare", "trainer"], cases.Select(c => c.GetProperty("path").GetString()));
        Assert.All(cases, c => Assert.True(c.GetProperty("samples_per_second").GetDouble() > 0));
        Assert.True(cases[1].GetProperty("trainer_over_bare").GetDouble() > 0);
    }

    [Theory]
    [InlineData("--norm", "group", "--norm must be one of")]
    [InlineData("--batch-size", "-3", "--batch-size must be at least 1")]
    [InlineData("--lr", "fast", "--lr expects a finite number")]
    [InlineData("--hidden", "10,x", "--hidden expects")]
    [InlineData("--bogus", "1", "unknown option '--bogus'")]
    public void BadOptionsGiveOneErrorLineAndExitCode2(string option, string value, string expected)
    {
        var (code, _, err) = Run("train", option, value);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [Fact]
    public void ReproduceRejectsUnknownClaimsAndConflictingProfiles()
    {
        var (code, _, err) = Run("reproduce", "--only", "A,Z");
        Assert.Equal(2, code);
        Assert.Contains("unknown claim 'Z'", err);
        var (code2, _, err2) = Run("reproduce", "--quick", "--full");
        Assert.Equal(2, code2);
        Assert.Contains("exclude each other", err2);
        // One seed gives no confidence interval, so no verdict could be more than inconclusive.
        var (code3, _, err3) = Run("reproduce", "--seeds", "1", "--only", "G");
        Assert.Equal(2, code3);
        Assert.Contains("--seeds", err3);
    }

    [Fact]
    public void ReproducingOnlyTheInvarianceTableLoadsNoDataAndWritesItsVerdict()
    {
        // G trains nothing, so no dataset is loaded (or fetched): the command works without any data on the machine.
        using var dir = new TestData.TempDir();
        string outDir = Path.Combine(dir.Path, "out");
        var (code, output, err) = Run("reproduce", "--only", "G", "--out", outDir);
        Assert.True(code == 0, err);
        Assert.Contains("G  supported", output);
        string report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("dataset: none (G trains nothing)", report);
        Assert.Contains("claims run: G", report);
    }

    [Fact]
    public void UnknownCommand()
    {
        var (code, _, err) = Run("fly");
        Assert.Equal(2, code);
        Assert.StartsWith("error: unknown command 'fly'", err);
    }

    [Fact]
    public void ACorruptDataFileIsNamedWithoutAStackTrace()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        File.WriteAllBytes(Path.Combine(dir.Path, "train-images-idx3-ubyte"), [1, 2, 3, 4, 5, 6, 7, 8]);
        var (code, _, err) = Run("train", "--data-dir", dir.Path, "--out", Path.Combine(dir.Path, "run"));
        Assert.Equal(2, code);
        Assert.Contains("train-images-idx3-ubyte", err);
        Assert.Contains("bad magic number", err);
        Assert.DoesNotContain("   at ", err);
        var (_, _, verbose) = Run("train", "--data-dir", dir.Path, "--verbose");
        Assert.Contains("   at ", verbose);
    }

    [Fact]
    public void TrainsAndResumesFromTheCommandLine()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path);
        string run = Path.Combine(dir.Path, "run");
        var (code, output, err) = Run("train", "--data-dir", dir.Path, "--hidden", "32", "--epochs", "2", "--batch-size", "16", "--lr", "0.003", "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains("test accuracy", output);
        Assert.True(File.Exists(Path.Combine(run, "summary.json")));
        Assert.NotNull(NormSharp.Training.CheckpointManager.Latest(run));
        var (code2, output2, err2) = Run("train", "--resume", run);
        Assert.True(code2 == 0, err2);
        Assert.Contains("test accuracy", output2);
        long before = new FileInfo(Path.Combine(run, "metrics.csv")).Length;
        var (code4, _, err4) = Run("train", "--data-dir", dir.Path, "--out", run);
        Assert.Equal(2, code4);
        Assert.Contains("already holds a training run", err4);
        Assert.Equal(before, new FileInfo(Path.Combine(run, "metrics.csv")).Length);
        var (code3, _, err3) = Run("train", "--resume", Path.Combine(dir.Path, "nothing-here"));
        Assert.Equal(2, code3);
        Assert.Contains("no checkpoint", err3);
    }
}

public class InspectCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, interactive: false);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void DescribesSafetensorsAndIdxFiles()
    {
        var (code, output, _) = Run("inspect", Path.Combine(AppContext.BaseDirectory, "golden", "layer_norm_basic.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("op = layer_norm", output);
        Assert.Contains("F32   [8, 32]", output);
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path, gzip: true);
        var (code2, output2, _) = Run("inspect", Path.Combine(dir.Path, "t10k-images-idx3-ubyte.gz"));
        Assert.Equal(0, code2);
        Assert.Contains("UInt8, dimensions [60, 28, 28]", output2);
    }

    [Fact]
    public void MetadataThatIsNotAStringMakesTheFileInvalid()
    {
        using var dir = new TestData.TempDir();
        string p = Path.Combine(dir.Path, "meta.safetensors");
        byte[] header = System.Text.Encoding.UTF8.GetBytes("{\"__metadata__\":{\"format\":\"pt\",\"epochs\":5},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        File.WriteAllBytes(p, [.. BitConverter.GetBytes((long)header.Length), .. header, 0, 0, 128, 63]);
        var (code, output, err) = Run("inspect", p);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", err);
        Assert.Contains("'epochs'", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ACorruptFileIsOneErrorLine()
    {
        using var dir = new TestData.TempDir();
        string p = Path.Combine(dir.Path, "bad.safetensors");
        File.WriteAllBytes(p, [200, 0, 0, 0, 0, 0, 0, 0, (byte)'{']);
        var (code, _, err) = Run("inspect", p);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", err);
        Assert.Contains("bad.safetensors", err);
        var (code2, _, err2) = Run("inspect", Path.Combine(dir.Path, "missing.idx"));
        Assert.Equal(2, code2);
        Assert.Contains("not found", err2);
        var (code3, _, err3) = Run("inspect");
        Assert.Equal(2, code3);
        Assert.Contains("needs FILE", err3);
    }
}
