using NormSharp.Cli.Arguments;
using NormSharp.Data.Text;
using NormSharp.Datasets;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Cli.Commands;

/// <summary>The char-lm branch of <c>normsharp train</c>: a Transformer or recurrent language model on real text.</summary>
internal static class TrainLanguageModel
{
    /// <summary>Starts a new run of <paramref name="config"/> into <paramref name="dir"/>.</summary>
    public static int Start(TrainingConfig config, string dir, ParsedArguments a, CliContext ctx)
    {
        var corpus = LoadCorpus(config);
        return Run(new CharLmRun(config, corpus, dir), dir, a, ctx);
    }

    /// <summary>Continues the run stored in <paramref name="dir"/>, whose configuration is <paramref name="config"/>.</summary>
    public static int Resume(string dir, TrainingConfig config, ParsedArguments a, CliContext ctx)
    {
        var run = CharLmRun.Resume(dir, LoadCorpus(config));
        ctx.Error.WriteLine($"resuming {dir}");
        return Run(run, dir, a, ctx);
    }

    private static TextCorpus LoadCorpus(TrainingConfig config) => TextDatasetCatalog.Load(config.Dataset, config.DataFile, config.DataDir);

    private static int Run(CharLmRun run, string dir, ParsedArguments a, CliContext ctx)
    {
        var c = run.Config;
        string budget = c.Steps > 0 ? $"steps={c.Steps}" : $"epochs={c.Epochs}";
        ctx.Error.WriteLine($"{ModelFactory.Describe(run.Model)} on {c.Dataset} (vocabulary {run.Vocabulary.Size}) context={c.Context} batch={c.BatchSize} {budget} " +
                            $"{Spelling.Of(c.Optimizer)} lr={c.LearningRate} warmup={c.WarmupSteps} seed={c.Seed} threads={c.Threads} -> {dir}");
        var summary = TrainCommand.RunInterruptibly(run.TotalSteps, h => run.Progress += h, run.Run, ctx);
        if (a.Flag("json"))
            ctx.Out.WriteLine(summary.ToJson());
        else
        {
            ctx.Out.WriteLine($"validation {summary.ValidationBitsPerCharacter:F3} bits per character ({summary.ValidationCharacters} characters); final train {summary.FinalTrainBitsPerCharacter:F3}");
            ctx.Out.WriteLine($"{summary.TokensPerSecond:F0} characters/s over {summary.Steps} steps in {summary.Minutes:F1} min; diverged: {(summary.Diverged ? "yes" : "no")}{(summary.StopReason is null ? "" : $" ({summary.StopReason})")}");
            ctx.Out.WriteLine($"wrote {Path.Combine(dir, CharLmRun.SummaryFile)}, metrics.csv, {CharLmRun.ModelFile}, {CharLmRun.VocabularyFile}");
        }
        return summary.Diverged ? CommandLine.RuntimeFailure : CommandLine.Ok;
    }
}
