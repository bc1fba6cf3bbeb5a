using NormSharp.Cli.Arguments;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.Experiments.Recipes;
using NormSharp.IO.Safetensors;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Onnx;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp export RUN_DIR --onnx FILE</c>: a trained run's model as an ONNX file that ONNX Runtime can run.</summary>
internal static class ExportCommand
{
    public static CommandSpec Spec { get; } = new()
    {
        Name = "export",
        Summary = "write a trained run's model as ONNX (LayerNormalization, LSTM/GRU, ...), checked to match NormSharp in the tests",
        Details = "Rebuilds the run's model from its configuration (run.json), loads its final weights (model.safetensors),\n" +
                  "or with --from-checkpoint those of its newest checkpoint, and writes the evaluation-mode graph with a\n" +
                  "dynamic batch dimension. Recurrent layers with normalization are unrolled over the run's sequence length.\n" +
                  "A char-lm run exports its language model: token ids [batch, time] (as floats) in, logits [batch, time,\n" +
                  "vocabulary] out, any length up to its context (exactly the context for LN-LSTM and other normalized cells);\n" +
                  "its vocabulary.json maps ids to characters.",
        Positional = "RUN_DIR",
        PositionalDescription = "a folder written by 'normsharp train'",
        Options =
        [
            new("onnx", "FILE", "the ONNX file to write"),
            new("opset", "N", $"ONNX operator set, {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset} (RMSNormalization from 23, Gelu from 20)", OnnxExportOptions.MinOpset.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("from-checkpoint", null, "export the newest checkpoint's weights (a run that has not finished)"),
        ],
        Handler = Run,
        Examples = ["normsharp export runs/ln --onnx ln.onnx", "normsharp export runs/lnlstm --onnx lnlstm.onnx --opset 23"],
    };

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        string dir = a.Positional!;
        if (!Directory.Exists(dir)) throw new UsageException($"{dir} is not a folder (export takes a run folder written by 'normsharp train')");
        string output = a.RequiredString("onnx");
        var config = RecipeRun.ReadConfig(dir);
        var model = BuildModel(config, dir);
        var state = a.Flag("from-checkpoint") ? CheckpointWeights(dir) : FinalWeights(dir);
        model.LoadStateDict(state, strict: true);
        var options = new OnnxExportOptions
        {
            Opset = a.Int("opset", OnnxExportOptions.MinOpset, OnnxExportOptions.MaxOpset),
            // A recurrent language model with normalized cells is unrolled: over the run's context.
            InputShape = model is RecurrentLanguageModel { Rnn.Kind: not (CellKind.Lstm or CellKind.Gru or CellKind.Rnn) } lm ? [-1, lm.ContextLength] : null,
        };
        OnnxExport.Save(model, output, options);
        ctx.Out.WriteLine($"wrote {output}: {ModelFactory.Describe(model)}, opset {options.Opset}, {model.ParameterCount()} parameters");
        return CommandLine.Ok;
    }

    /// <summary>
    /// The run's model with fresh weights; its shape comes from the configuration and the data's image size, or for a
    /// language model the run's stored vocabulary.
    /// </summary>
    private static Module BuildModel(TrainingConfig config, string dir)
    {
        var rng = new Rng(config.Seed);
        if (ModelFactory.IsLanguageModel(config)) return CharLmRun.BuildModel(config, CharLmRun.ReadVocabulary(dir).Size, rng);
        if (ModelFactory.IsSynthetic(config))
            throw new UsageException($"the {Spelling.Of(config.Task)} task's model (a recurrent layer with a read-out of its own) has no ONNX form; MLPs and sequence classifiers of images export");
        // The named datasets are 28×28 images of 10 classes; a folder of IDX files says its own size.
        var (height, width, classes) = config.DataDir is null
            ? (28, 28, 10)
            : Shape(IdxDatasetFolder.Load(config.DataDir, config.Dataset).Train);
        return ModelFactory.BuildModel(config, height, width, classes, rng);
    }

    private static (int, int, int) Shape(Dataset d) => (d.Height, d.Width, d.Classes);

    private static Dictionary<string, Tensor> FinalWeights(string dir)
    {
        string path = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(path))
            throw new UsageException($"{dir} has no model.safetensors (the run has not finished, or it stopped); export its newest checkpoint with --from-checkpoint");
        var file = SafetensorsFile.Read(path);
        return file.Entries.ToDictionary(e => e.Name, e => file.GetTensor(e.Name));
    }

    private static Dictionary<string, Tensor> CheckpointWeights(string dir)
    {
        var latest = CheckpointManager.Latest(dir) ?? throw new UsageException($"{dir} holds no checkpoint");
        var checkpoint = Checkpoint.Load(latest.Path);
        return checkpoint.Tensors.Where(t => t.Name.StartsWith("model.", StringComparison.Ordinal)).ToDictionary(t => t.Name["model.".Length..], t => t.Tensor);
    }
}
