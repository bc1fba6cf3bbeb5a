using System.Globalization;
using NormSharp.Cli.Arguments;
using NormSharp.Experiments.Recipes;
using NormSharp.Generation;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp generate RUN_DIR</c>: samples text from a trained character language model, streaming it.</summary>
internal static class GenerateCommand
{
    public static CommandSpec Spec { get; } = new()
    {
        Name = "generate",
        Summary = "sample text from a character language model trained with 'train --task char-lm', character by character",
        Details = "Reads RUN_DIR's model (model.safetensors, or its latest checkpoint while the run is unfinished) and the\n" +
                  "vocabulary stored with it, then writes the prompt's continuation as it is sampled. Temperature 0 takes the\n" +
                  "most likely character each time; higher temperatures flatten the distribution. The same run, prompt,\n" +
                  "temperature and seed give the same text. Prompt characters the vocabulary lacks are an error unless\n" +
                  "--unknown map reads them as the unknown character.",
        Positional = "RUN_DIR",
        PositionalDescription = "the folder of a char-lm training run",
        Options =
        [
            new("prompt", "TEXT", "text to continue (empty: start after a line break)", ""),
            new("length", "N", "characters to generate", "200"),
            new("temperature", "T", "sampling temperature (0: greedy)", "0.8"),
            new("seed", "S", "seed of the sampling", "1"),
            new("unknown", "POLICY", "prompt characters outside the vocabulary: reject or map", "reject") { Choices = ["reject", "map"] },
        ],
        Handler = Run,
        Examples = ["normsharp generate runs/lm --prompt \"The meaning of life\" --length 300 --temperature 0.8 --seed 7"],
    };

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        string dir = a.Positional!;
        if (!Directory.Exists(dir)) throw new UsageException($"the run folder {dir} does not exist");
        int length = a.Int("length", 0, 100_000_000);
        double temperature = a.Double("temperature");
        if (temperature < 0) throw new UsageException($"--temperature must be 0 or more, got {temperature.ToString(CultureInfo.InvariantCulture)}");
        ulong seed = (ulong)a.Long("seed", 0);
        var policy = a.Choice("unknown", "reject", "map") == "map" ? UnknownCharacterPolicy.MapToUnknown : UnknownCharacterPolicy.Reject;
        var (model, vocabulary, _) = CharLmRun.LoadTrained(dir);
        var generator = new TextGenerator(model, vocabulary);
        string prompt = a.RequiredString("prompt");
        // The prompt is checked before anything is written, so a refused prompt prints only the error.
        generator.EncodePrompt(prompt, policy);
        ctx.Out.Write(prompt);
        foreach (string c in generator.Generate(prompt, length, (float)temperature, seed, policy))
        {
            ctx.Out.Write(c);
            ctx.Out.Flush();
        }
        ctx.Out.WriteLine();
        return CommandLine.Ok;
    }
}
