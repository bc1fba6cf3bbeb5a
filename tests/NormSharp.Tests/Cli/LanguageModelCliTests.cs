using System.Text.Json;
using NormSharp.Cli;
using NormSharp.Data.Text;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Tests.Cli;

/// <summary><c>normsharp train --task char-lm</c> and <c>normsharp generate</c>, run in-process on the shipped sample text.</summary>
public class LanguageModelCliTests
{
    private static readonly string Sample = Path.Combine(AppContext.BaseDirectory, "data", "text", "sample-fortunes");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, interactive: false);
        return (code, o.ToString(), e.ToString());
    }

    private static string[] Tiny(string model, string dir, params string[] more) =>
    [
        "train", "--task", "char-lm", "--model", model, "--data-file", Sample, "--context", "24", "--d-model", "16", "--heads", "2",
        "--layers", "2", "--hidden", "32", "--batch-size", "4", "--steps", "12", "--lr", "0.003", "--threads", "1", "--out", dir, .. more,
    ];

    [Fact]
    public void ATransformerTrainsOnATextFileAndGenerateStreamsReproducibleText()
    {
        using var tmp = new TestData.TempDir();
        string dir = Path.Combine(tmp.Path, "lm");
        var (code, output, err) = Run(Tiny("transformer", dir, "--norm-position", "post", "--norm", "rms", "--warmup-steps", "4"));
        Assert.True(code == 0, err);
        Assert.Contains("bits per character", output);
        foreach (var f in new[] { "vocabulary.json", "model.safetensors", "summary.json", "metrics.csv", "run.json" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Equal(12, NormSharp.Training.CheckpointManager.Latest(dir)!.Step);
        var summary = LanguageModelSummary.Read(Path.Combine(dir, "summary.json"));
        Assert.Equal(12, summary.Steps);
        Assert.Equal("post", summary.NormPosition);
        Assert.Equal("rms", summary.Norm);
        Assert.InRange(summary.ValidationBitsPerCharacter, 0.5, 8);
        Assert.Null(summary.StopReason);
        var vocabulary = CharVocabulary.FromJson(File.ReadAllText(Path.Combine(dir, "vocabulary.json")), "vocabulary.json");
        Assert.Equal(summary.VocabularySize, vocabulary.Size);

        var first = Run("generate", dir, "--prompt", "Seeds ", "--length", "40", "--seed", "5");
        var second = Run("generate", dir, "--prompt", "Seeds ", "--length", "40", "--seed", "5");
        Assert.Equal(0, first.Code);
        Assert.Equal(first.Out, second.Out);
        Assert.StartsWith("Seeds ", first.Out);
        Assert.Equal("Seeds ".Length + 40 + Environment.NewLine.Length, first.Out.Length);
        Assert.NotEqual(first.Out, Run("generate", dir, "--prompt", "Seeds ", "--length", "40", "--seed", "6").Out);
    }

    [Fact]
    public void MicroBatchesGiveTheWholeBatchUpdateUpToRoundingAndAreRepeatable()
    {
        using var tmp = new TestData.TempDir();
        double FinalLoss(string name, params string[] more)
        {
            string dir = Path.Combine(tmp.Path, name);
            var (code, _, err) = Run(Tiny("transformer", dir, more));
            Assert.True(code == 0, err);
            return LanguageModelSummary.Read(Path.Combine(dir, "summary.json")).ValidationBitsPerCharacter;
        }
        double whole = FinalLoss("whole"), parts = FinalLoss("parts", "--micro-batches", "2"), again = FinalLoss("again", "--micro-batches", "2");
        Assert.Equal(parts, again);
        // Two windows at a time, gradients weighted by their share: the same update summed in another order.
        Assert.InRange(Math.Abs(parts - whole), 0, 1e-3 * whole);
        byte[] Weights(string name) => File.ReadAllBytes(Path.Combine(tmp.Path, name, "model.safetensors"));
        Assert.Equal(Weights("parts"), Weights("again"));
        Assert.NotEqual(Weights("whole"), Weights("parts")); // the batch really was cut
    }

    [Fact]
    public void AnLnLstmLanguageModelTrainsOnTheSameTask()
    {
        using var tmp = new TestData.TempDir();
        string dir = Path.Combine(tmp.Path, "rnn");
        var (code, _, err) = Run(Tiny("rnn", dir, "--cell", "ln-lstm"));
        Assert.True(code == 0, err);
        var summary = LanguageModelSummary.Read(Path.Combine(dir, "summary.json"));
        Assert.Equal("ln-lstm", summary.Norm);
        Assert.StartsWith("rnn-ln-lstm-32x2", summary.Model);
        Assert.Equal(0, Run("generate", dir, "--length", "10").Code);
    }

    [Fact]
    public void AnImageDatasetIsRefusedForLanguageModelling()
    {
        var (code, _, err) = Run("train", "--task", "char-lm", "--dataset", "mnist-digits", "--out", "unused");
        Assert.Equal(2, code);
        Assert.Contains("--dataset must be one of fortunes", err);
        var (code2, _, err2) = Run("train", "--dataset", "fortunes", "--out", "unused");
        Assert.Equal(2, code2);
        Assert.Contains("train on it with --task char-lm", err2);
    }

    [Fact]
    public void TheFortunesDatasetReadsAFolderOfFortuneFiles()
    {
        using var tmp = new TestData.TempDir();
        string corpus = Path.Combine(tmp.Path, "fortunes");
        Directory.CreateDirectory(corpus);
        File.Copy(Sample, Path.Combine(corpus, "sample"));
        File.WriteAllBytes(Path.Combine(corpus, "sample.dat"), [0, 1, 2, 0xff]); // binary index files are skipped
        string dir = Path.Combine(tmp.Path, "run");
        var args = Tiny("transformer", dir).Where(a => a != "--data-file" && a != Sample).ToList();
        args.AddRange(["--dataset", "fortunes", "--data-dir", corpus]);
        var (code, _, err) = Run([.. args]);
        Assert.True(code == 0, err);
        Assert.Equal("fortunes", LanguageModelSummary.Read(Path.Combine(dir, "summary.json")).Dataset);
    }

    public static TheoryData<string[], string> BadTraining() => new()
    {
        { ["--heads", "3", "--d-model", "16"], "3 heads do not divide the model width 16" },
        { ["--context", "0"], "the context must be at least 1 character" },
        { ["--context", "5000"], "fewer than one context window of 5000" },
        { ["--norm", "batch"], "batch normalization is not offered in Transformer blocks" },
        { ["--dataset", "fortunes"], "either --dataset or --data-file" },
    };

    [Theory]
    [MemberData(nameof(BadTraining))]
    public void BadSettingsEndWithOneErrorLineAndExitCode2(string[] change, string message)
    {
        using var tmp = new TestData.TempDir();
        string dir = Path.Combine(tmp.Path, "bad");
        var args = Tiny("transformer", dir).ToList();
        for (int i = 0; i < change.Length; i += 2)
        {
            int at = args.IndexOf(change[i]);
            if (at >= 0) args[at + 1] = change[i + 1];
            else args.AddRange([change[i], change[i + 1]]);
        }
        var (code, _, err) = Run([.. args]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Null(NormSharp.Training.CheckpointManager.Latest(dir));
    }

    [Theory]
    [InlineData("", "the file holds no text")]
    [InlineData("not utf-8: \u00ff", "not valid UTF-8")]
    public void ATextFileThatCannotBeLearnedIsNamedInTheError(string content, string message)
    {
        using var tmp = new TestData.TempDir();
        string file = Path.Combine(tmp.Path, "text.txt");
        if (content.Contains('\u00ff')) File.WriteAllBytes(file, [.. "not utf-8: "u8.ToArray(), 0xff, 0xfe]);
        else File.WriteAllText(file, content);
        var args = Tiny("transformer", Path.Combine(tmp.Path, "run")).ToList();
        args[args.IndexOf("--data-file") + 1] = file;
        var (code, _, err) = Run([.. args]);
        Assert.Equal(2, code);
        Assert.Contains(file, err);
        Assert.Contains(message, err);
        var missing = Run([.. args.Select(a => a == file ? file + ".missing" : a)]);
        Assert.Equal(2, missing.Code);
        Assert.Contains("does not exist", missing.Err);
    }

    [Fact]
    public void GenerateRefusesUnknownPromptCharactersMissingRunsAndRunsThatAreNotLanguageModels()
    {
        using var tmp = new TestData.TempDir();
        string dir = Path.Combine(tmp.Path, "lm");
        Assert.Equal(0, Run(Tiny("transformer", dir)).Code);
        var unknown = Run("generate", dir, "--prompt", "Zq#", "--length", "5");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("does not know", unknown.Err);
        Assert.Equal("", unknown.Out);
        Assert.Equal(0, Run("generate", dir, "--prompt", "Zq#", "--length", "5", "--unknown", "map").Code);

        var missing = Run("generate", Path.Combine(tmp.Path, "nowhere"));
        Assert.Equal(2, missing.Code);
        Assert.StartsWith("error:", missing.Err);

        string images = Path.Combine(tmp.Path, "idx");
        Directory.CreateDirectory(images);
        TestData.WriteFolder(images, train: 16, test: 8);
        string mlp = Path.Combine(tmp.Path, "mlp");
        Assert.Equal(0, Run("train", "--data-dir", images, "--hidden", "8", "--epochs", "1", "--batch-size", "8", "--threads", "1", "--out", mlp).Code);
        var notLm = Run("generate", mlp);
        Assert.Equal(2, notLm.Code);
        Assert.Contains("not a language model", notLm.Err);
    }

    [Fact]
    public void AnInterruptedRunResumesToTheWeightsOfAnUninterruptedOne()
    {
        using var tmp = new TestData.TempDir();
        var corpus = TextCorpus.FromFile(Sample);
        var config = new TrainingConfig
        {
            Model = ModelKind.Transformer, Task = SequenceTask.CharLm, Dataset = "sample", Context = 16, DModel = 16, Heads = 2, Layers = 2,
            BatchSize = 4, Steps = 20, Optimizer = OptimizerKind.AdamW, LearningRate = 3e-3, WarmupSteps = 5, Dropout = 0.1, Threads = 1,
        };
        string straight = Path.Combine(tmp.Path, "straight");
        new CharLmRun(config, corpus, straight).Run();

        string broken = Path.Combine(tmp.Path, "broken");
        var run = new CharLmRun(config, corpus, broken);
        using var cts = new CancellationTokenSource();
        run.Progress += p => { if (p.Step == 9) cts.Cancel(); };
        var partial = run.Run(cts.Token);
        Assert.Equal(RunSummary.Interrupted, partial.Status);
        Assert.True(partial.Steps < 20);
        var resumed = CharLmRun.Resume(broken, corpus).Run();
        Assert.Equal(20, resumed.Steps);

        var a = NormSharp.IO.Safetensors.SafetensorsFile.Read(Path.Combine(straight, "model.safetensors"));
        var b = NormSharp.IO.Safetensors.SafetensorsFile.Read(Path.Combine(broken, "model.safetensors"));
        foreach (var e in a.Entries) Assert.Equal(a.GetTensor(e.Name).ToArray(), b.GetTensor(e.Name).ToArray());
        Assert.Equal(resumed.ValidationBitsPerCharacter, LanguageModelSummary.Read(Path.Combine(straight, "summary.json")).ValidationBitsPerCharacter);
    }
}
