using NormSharp.Cli.Arguments;
using NormSharp.Data.Text;
using NormSharp.Datasets;
using NormSharp.Distributed;
using NormSharp.Experiments.Recipes;
using NormSharp.Training;

namespace NormSharp.Cli.Commands;

/// <summary>The char-lm branch of <c>normsharp train</c>: a Transformer or recurrent language model on real text.</summary>
internal static class TrainLanguageModel
{
    /// <summary>Options a resumed language-model run may take (<c>--data-file</c> when the text moved; it must be the same text).</summary>
    private static readonly string[] AllowedOnResume = ["resume", "json", "threads", "micro-batches", "distributed", "reduction", "data-file", "data-dir"];

    /// <summary>Starts or resumes the run the arguments describe, trains it with progress, and returns the exit code.</summary>
    public static int Run(ParsedArguments a, CliContext ctx, InterruptSignals interrupt, DataParallel? dp)
    {
        Action<string> log = s => ctx.Error.WriteLine(s);
        string dir = a.String("resume") ?? a.RequiredString("out");
        using var run = a.String("resume") is { } resume ? Resume(a, resume, log, dp) : Start(a, log, dp);
        var c = run.Config;
        string budget = c.Steps > 0 ? $"steps={c.Steps}" : $"epochs={c.Epochs}";
        ctx.Error.WriteLine($"{ModelFactory.Describe(run.Model)} on {c.Dataset} (vocabulary {run.Vocabulary.Size}) context={c.Context} batch={c.BatchSize} {budget} " +
                            $"{Spelling.Of(c.Optimizer)} lr={c.LearningRate} warmup={c.WarmupSteps} seed={c.Seed} threads={c.Threads} -> {dir}");
        var summary = TrainCommand.RunWithProgress(run.TotalSteps, h => run.Progress += h, run.Run, ctx, interrupt.Token);
        if (a.Flag("json"))
            ctx.Out.WriteLine(summary.ToJson());
        else
        {
            if (summary.Status == RunSummary.Finished)
                ctx.Out.WriteLine($"validation {summary.ValidationBitsPerCharacter:F3} bits per character ({summary.ValidationCharacters} characters); training {summary.FinalTrainBitsPerCharacter:F3} over the last steps");
            ctx.Out.WriteLine($"{summary.TokensPerSecond:F0} characters/s over {summary.Steps} steps in {summary.Minutes:F1} min; {summary.Status}{(summary.StopReason is null ? "" : $" ({summary.StopReason})")}");
            var written = new List<string> { Path.Combine(dir, CharLmRun.SummaryFile), "metrics.csv", CharLmRun.VocabularyFile };
            if (CheckpointManager.Latest(dir) is { } last) written.Add(Path.GetFileName(last.Path));
            if (summary.Status == RunSummary.Finished) written.Add(CharLmRun.ModelFile);
            ctx.Out.WriteLine($"wrote {string.Join(", ", written)}");
            if (summary.Status == RunSummary.Interrupted) ctx.Out.WriteLine($"continue with: normsharp train --resume {dir}");
        }
        return interrupt.ExitCodeFor(summary.Status);
    }

    private static CharLmRun Start(ParsedArguments a, Action<string> log, DataParallel? dp)
    {
        var config = TrainCommand.ReadConfig(a);
        ModelFactory.Validate(config);
        string dir = a.RequiredString("out");
        if (dir.Trim().Length == 0) throw new UsageException("--out needs a folder path, got an empty one");
        if (File.Exists(dir)) throw new UsageException($"--out {dir} is a file; a run needs a folder of its own");
        var corpus = LoadCorpus(config);
        try
        {
            return new CharLmRun(config, corpus, dir, dp, log);
        }
        catch (RunFolderOccupiedException e)
        {
            throw new UsageException(e.Message + (e.CanResume ? $"; continue it with --resume {dir}, or choose another --out" : "; choose another --out"));
        }
    }

    private static CharLmRun Resume(ParsedArguments a, string dir, Action<string> log, DataParallel? dp)
    {
        var ignored = TrainCommand.TrainOptions().Where(o => a.Has(o) && !AllowedOnResume.Contains(o)).ToList();
        if (ignored.Count > 0)
            throw new UsageException($"--resume continues the run in {dir} with its own settings, so {string.Join(", ", ignored.Select(o => "--" + o))} cannot be given with it (remove {(ignored.Count == 1 ? "it" : "them")}, or start a new run with --out)");
        var config = RecipeRun.ReadConfig(dir);
        if (a.String("data-file") is { } moved) config = config with { DataFile = Path.GetFullPath(moved) };
        if (a.String("data-dir") is { } movedDir) config = config with { DataDir = Path.GetFullPath(movedDir) };
        var run = CharLmRun.Resume(dir, LoadCorpus(config), dp, threads: a.Has("threads") ? a.Int("threads", 1, 1024) : null,
            microBatches: a.Has("micro-batches") ? a.Int("micro-batches", 1, 1 << 20) : null, log: log);
        log($"resuming {dir} at step {run.Trainer.State.Step}");
        return run;
    }

    private static TextCorpus LoadCorpus(TrainingConfig config) => TextDatasetCatalog.Load(config.Dataset, config.DataFile, config.DataDir);
}
