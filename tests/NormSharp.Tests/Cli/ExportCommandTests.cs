using NormSharp.Cli;
using NormSharp.IO.Safetensors;
using NormSharp.Layers;
using NormSharp.Tensors;
using NormSharp.Tests.Onnx;

namespace NormSharp.Tests.Cli;

/// <summary><c>normsharp export</c>: a trained run folder becomes an ONNX file that ONNX Runtime runs like NormSharp.</summary>
public class ExportCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e, interactive: false);
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData("mlp", "layer", "17")]
    [InlineData("mlp", "batch", "17")]
    [InlineData("rnn", "ln-lstm", "23")]
    public void ATrainedRunExportsToOnnxAndRunsLikeNormSharp(string model, string kind, string opset)
    {
        using var dir = new TestData.TempDir();
        string data = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(data);
        TestData.WriteFolder(data, train: 64, test: 16);
        string run = Path.Combine(dir.Path, "run");
        string[] shape = model == "mlp" ? ["--hidden", "12,8", "--norm", kind] : ["--hidden", "8", "--cell", kind, "--task", "seq-mnist-rows"];
        var train = Run(["train", "--dataset", "fashion-mnist", "--data-dir", data, "--model", model, .. shape, "--batch-size", "16", "--epochs", "1", "--threads", "1", "--out", run]);
        Assert.True(train.Code == 0, train.Err);

        string onnx = Path.Combine(dir.Path, "model.onnx");
        var export = Run("export", run, "--onnx", onnx, "--opset", opset);
        Assert.True(export.Code == 0, export.Err);
        Assert.Contains($"opset {opset}", export.Out);

        // The same model, rebuilt and loaded here, against ONNX Runtime on the test images.
        var weights = SafetensorsFile.Read(Path.Combine(run, "model.safetensors"));
        var config = NormSharp.Experiments.Recipes.RecipeRun.ReadConfig(run);
        var rebuilt = NormSharp.Experiments.Recipes.ModelFactory.BuildModel(config, 28, 28, 10, new Rng(99));
        rebuilt.LoadStateDict(weights.Entries.ToDictionary(e => e.Name, e => weights.GetTensor(e.Name)));
        rebuilt.Eval();
        var input = Tensor.Zeros(5, 784);
        new Rng(3).FillUniform(input.Span, -1, 1);
        using var ort = new OrtComparison(File.ReadAllBytes(onnx));
        ort.Check(rebuilt, input, $"{model} {kind}");
    }

    [Fact]
    public void ATransformerLanguageModelRunExportsAndOnnxRuntimeGivesItsLogits()
    {
        using var dir = new TestData.TempDir();
        string sample = Path.Combine(AppContext.BaseDirectory, "data", "text", "sample-fortunes");
        string run = Path.Combine(dir.Path, "lm");
        var train = Run("train", "--task", "char-lm", "--model", "transformer", "--data-file", sample, "--context", "16", "--d-model", "16",
            "--heads", "2", "--layers", "2", "--batch-size", "4", "--steps", "6", "--threads", "1", "--out", run);
        Assert.True(train.Code == 0, train.Err);
        string onnx = Path.Combine(dir.Path, "lm.onnx");
        var export = Run("export", run, "--onnx", onnx);
        Assert.True(export.Code == 0, export.Err);

        var (model, vocabulary, _) = NormSharp.Experiments.Recipes.CharLmRun.LoadTrained(run);
        var ids = vocabulary.Encode("Seeds of doubt");
        var input = Tensor.Zeros(1, ids.Length);
        for (int i = 0; i < ids.Length; i++) input.Span[i] = ids[i];
        using var ort = new OrtComparison(File.ReadAllBytes(onnx));
        ort.Check((NormSharp.Layers.Module)model, input, "char-lm transformer");
    }

    [Theory]
    [InlineData("lstm", 9)]
    [InlineData("ln-lstm", 16)]
    public void ARecurrentLanguageModelRunExportsAndOnnxRuntimeGivesItsLogits(string cell, int length)
    {
        using var dir = new TestData.TempDir();
        string sample = Path.Combine(AppContext.BaseDirectory, "data", "text", "sample-fortunes");
        string run = Path.Combine(dir.Path, cell);
        var train = Run("train", "--task", "char-lm", "--model", "rnn", "--cell", cell, "--data-file", sample, "--context", "16", "--d-model", "8",
            "--hidden", "16", "--batch-size", "4", "--steps", "3", "--threads", "1", "--out", run);
        Assert.True(train.Code == 0, train.Err);
        string onnx = Path.Combine(dir.Path, cell + ".onnx");
        var export = Run("export", run, "--onnx", onnx);
        Assert.True(export.Code == 0, export.Err);

        var (model, vocabulary, _) = NormSharp.Experiments.Recipes.CharLmRun.LoadTrained(run);
        var ids = vocabulary.Encode("Seeds of doubt, and more"[..length]);
        var input = Tensor.Zeros(2, length);
        for (int i = 0; i < 2 * length; i++) input.Span[i] = ids[(i * 7) % length];
        using var ort = new OrtComparison(File.ReadAllBytes(onnx));
        ort.Check((NormSharp.Layers.Module)model, input, $"char-lm {cell}");
    }

    [Fact]
    public void ARunWithoutAModelOrAFolderIsAUsageError()
    {
        using var dir = new TestData.TempDir();
        var (code, _, err) = Run("export", Path.Combine(dir.Path, "missing"), "--onnx", Path.Combine(dir.Path, "m.onnx"));
        Assert.Equal(2, code);
        Assert.Contains("not a folder", err);
        var (code2, _, err2) = Run("export", dir.Path, "--opset", "30", "--onnx", "m.onnx");
        Assert.Equal(2, code2);
    }
}
