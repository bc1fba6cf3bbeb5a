using System.Globalization;
using NormSharp.Cli.Arguments;
using NormSharp.Autograd;
using NormSharp.Datasets;
using NormSharp.Distributed;
using NormSharp.Experiments.Recipes;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Training;
using Data = NormSharp.Data;
using Spectre.Console;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp train</c>: trains a model on real data with live progress, metrics, checkpoints and a summary.</summary>
internal static class TrainCommand
{
    public static CommandSpec Spec { get; } = new()
    {
        Name = "train",
        Summary = "train a (layer-normalized) network on real images, or a character language model on real text",
        Details = "Writes DIR/run.json (identity and settings), DIR/metrics.csv (every step and epoch: loss, accuracy,\n" +
                  "learning rate, global and per-layer gradient norms, step time), DIR/checkpoint-STEP.safetensors (every\n" +
                  "--checkpoint-every steps and at each epoch's end; the last 3 and the last good one are kept),\n" +
                  "DIR/summary.json (however the run ends) and DIR/model.safetensors (PyTorch-style names; only when the\n" +
                  "run finished). One process at a time trains in a folder (it is locked).\n" +
                  "--resume DIR continues the run stored in DIR with its own settings, from its newest intact checkpoint\n" +
                  "(or from step 0 when it made none). Only --threads, --micro-batches, --distributed and --reduction\n" +
                  "may change (they are not part of the run's identity), and --data-dir DIR2 when the data moved (it\n" +
                  "must be the same data); other options are refused.\n" +
                  "Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes a checkpoint and exits; a second one\n" +
                  "exits at once.\n" +
                  "Exit codes: 0 finished; 1 diverged (a non-finite or exploding loss) or a failure at run time (a full\n" +
                  "disk, the folder in use by another process); 2 a usage or input error; 130 interrupted by SIGINT;\n" +
                  "143 interrupted by SIGTERM.\n" +
                  "--task char-lm trains a character-level language model (--model transformer or rnn) on --dataset fortunes\n" +
                  "or any UTF-8 --data-file, reporting validation bits per character; DIR also gets vocabulary.json, and\n" +
                  "'normsharp generate DIR' samples text from it.",
        Options =
        [
            new("dataset", "NAME", "the dataset (default: mnist-digits; fortunes for char-lm)") { Choices = [.. DatasetCatalog.Names, .. TextDatasetCatalog.Names] },
            new("data-file", "FILE", "char-lm: learn this UTF-8 text file (entries split at blank lines) instead of --dataset"),
            new("data-dir", "DIR", "a folder with the four IDX files (train/t10k images/labels, plain or .gz)"),
            new("model", "KIND", "the model", "mlp") { Choices = Spelling.Names<ModelKind>() },
            new("cell", "KIND", "recurrent cell for --model rnn", "ln-lstm") { Choices = Spelling.Names<CellKind>() },
            new("task", "NAME", "what --model rnn learns: MNIST read as sequences, a generated task, or char-lm (language modelling)", "seq-mnist-rows") { Choices = Spelling.Names<SequenceTask>() },
            new("layers", "N", "stacked recurrent layers, or Transformer blocks (default: 1 for rnn, 4 for transformer)"),
            new("sequence-length", "T", "adding: sequence length; copy: the delay before recall", "100"),
            new("bptt", "K", "truncated backpropagation through the last K time steps (0: all; combine with --clip-norm)", "0"),
            new("hidden", "W1,W2,..", "hidden layer widths (mlp), or the hidden size (rnn; default 128)", "1000,1000"),
            new("norm", "KIND", "normalization of the hidden layers", "layer") { Choices = Spelling.Names<NormKind>() },
            new("activation", "F", "hidden nonlinearity (default: relu; gelu for transformer)") { Choices = Spelling.Names<F.Activation>() },
            new("context", "T", "char-lm: characters per training window (the Transformer's positions)", "128"),
            new("d-model", "D", "char-lm: Transformer width, or the rnn's character-vector width", "128"),
            new("heads", "H", "transformer: attention heads (must divide --d-model)", "4"),
            new("feed-forward", "F", "transformer: feed-forward width (0: 4 x --d-model)", "0"),
            new("norm-position", "WHERE", "transformer: pre (x + f(norm(x)), final norm) or post (norm(x + f(x)))", "pre") { Choices = Spelling.Names<NormPosition>() },
            new("dropout", "P", "transformer: dropout rate", "0"),
            new("steps", "N", "train for N steps in all instead of --epochs", "0"),
            new("eval-windows", "N", "char-lm: validation windows scored at each --eval-every (0: all; the final score uses all)", "256"),
            new("batch-size", "N", "samples per step", "128"),
            new("epochs", "E", "passes over the training set", "5"),
            new("optimizer", "NAME", "the optimizer (default: adam; adamw for char-lm)") { Choices = Spelling.Names<OptimizerKind>() },
            new("lr", "X", "learning rate", "0.001"),
            new("momentum", "M", "SGD momentum", "0.9"),
            new("weight-decay", "W", "weight decay (decoupled for adamw)", "0"),
            new("schedule", "NAME", "learning-rate schedule after the warm-up", "constant") { Choices = Spelling.Names<ScheduleKind>() },
            new("warmup-steps", "N", "linear learning-rate warm-up steps", "0"),
            new("clip-norm", "X", "clip the global gradient norm to X (0: off)", "0"),
            new("seed", "S", "seed of initialization and shuffling", "1"),
            new("threads", "N", "kernel threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)),
            new("train-limit", "N", "use only the first N training images (0: all)", "0"),
            new("nan-policy", "P", "on a non-finite loss or gradient", "stop") { Choices = Spelling.Names<NanPolicy>() },
            new("no-standardize", null, "feed raw [0,1] pixels instead of standardized ones"),
            new("out", "DIR", "output folder", "runs/latest"),
            new("eval-every", "STEPS", "also evaluate on the test set every STEPS steps (0: only at epoch ends)", "0"),
            new("checkpoint-every", "STEPS", "also checkpoint every STEPS steps (0: only at epoch ends)", "0"),
            new("resume", "DIR", "continue the run stored in DIR"),
            new("config", "FILE", "take every setting from a JSON configuration (the 'config' object of a run's run.json); only --out, --threads, --micro-batches, --distributed and --reduction may be added"),
            new("micro-batches", "N", "split each batch into N micro-batches whose gradients are summed in order (less memory, same update)", "1"),
            new("distributed", null, "data-parallel training over the ranks of an Open MPI job (start with: mpirun -np N normsharp train --distributed ...)"),
            new("reduction", "ORDER", "with --distributed: how gradients are summed over ranks (rank-order: bit-identical to one process with as many micro-batches)", "native") { Choices = Spelling.Names<ReductionOrder>() },
            new("json", null, "print the summary as JSON instead of a table"),
        ],
        Handler = Run,
        Examples =
        [
            "normsharp train --dataset mnist-digits --norm layer --epochs 5 --out runs/ln",
            "normsharp train --dataset fashion-mnist --norm batch --batch-size 4 --epochs 1 --out runs/bn4",
            "normsharp train --model rnn --cell ln-lstm --task seq-mnist-rows --epochs 10 --out runs/lnlstm",
            "normsharp train --model rnn --cell lstm --task adding --sequence-length 100 --epochs 5 --out runs/adding",
            "normsharp train --task char-lm --dataset fortunes --model transformer --layers 4 --d-model 128 --heads 4 --context 128 --norm-position pre --norm layer --steps 2000 --out runs/lm",
            "normsharp train --task char-lm --model rnn --cell ln-lstm --hidden 256 --data-file book.txt --steps 2000 --out runs/lnlstm-lm",
            "normsharp train --resume runs/ln",
        ],
    };

    internal static TrainingConfig ReadConfig(ParsedArguments a)
    {
        var model = a.Enum<ModelKind>("model");
        // --model transformer implies the only task it has.
        var task = model == ModelKind.Transformer && !a.Has("task") ? SequenceTask.CharLm : a.Enum<SequenceTask>("task");
        bool languageModel = task == SequenceTask.CharLm || model == ModelKind.Transformer;
        var dataFile = a.String("data-file");
        string dataset;
        if (languageModel)
        {
            if (dataFile is not null && a.Has("dataset"))
                throw new UsageException("give either --dataset or --data-file, not both");
            dataset = dataFile is not null ? Path.GetFileName(dataFile) : a.Has("dataset") ? a.RequiredString("dataset") : TextDatasetCatalog.Names[0];
            if (dataFile is null && !TextDatasetCatalog.Contains(dataset))
                throw new UsageException($"--task char-lm learns text: --dataset must be one of {string.Join("|", TextDatasetCatalog.Names)}, or give --data-file FILE (got '{dataset}')");
        }
        else
        {
            if (dataFile is not null) throw new UsageException("--data-file is for --task char-lm; image datasets are read with --dataset and --data-dir");
            dataset = a.Has("dataset") ? a.RequiredString("dataset") : DatasetCatalog.Names[0];
            if (Array.IndexOf(DatasetCatalog.Names, dataset) < 0)
                throw new UsageException($"--dataset {dataset} is a text corpus; train on it with --task char-lm");
        }
        return ReadConfig(a, model, task, dataset, dataFile is null ? null : Path.GetFullPath(dataFile), languageModel);
    }

    private static TrainingConfig ReadConfig(ParsedArguments a, ModelKind model, SequenceTask task, string dataset, string? dataFile, bool languageModel) => new()
    {
        Dataset = dataset,
        DataFile = dataFile,
        DataDir = a.String("data-dir") is { } d ? DataFolder(d) : null,
        Model = model,
        Cell = a.Enum<CellKind>("cell"),
        Task = task,
        Layers = a.Has("layers") ? a.Int("layers", 1, 256) : model == ModelKind.Transformer ? 4 : 1,
        Context = a.Int("context", 0, 1 << 20),
        DModel = a.Int("d-model", 1, 1 << 16),
        Heads = a.Int("heads", 1, 1 << 16),
        FeedForward = a.Int("feed-forward", 0, 1 << 20),
        NormPosition = a.Enum<NormPosition>("norm-position"),
        Dropout = a.Double("dropout"),
        Steps = a.Long("steps", 0),
        EvalWindows = a.Int("eval-windows", 0),
        Bptt = a.Int("bptt", 0),
        SequenceLength = a.Int("sequence-length", 2, 100_000),
        Hidden = a.Has("hidden") || a.String("model") != "rnn" ? a.IntList("hidden") : [128],
        Norm = a.Enum<NormKind>("norm"),
        Activation = a.Has("activation") ? a.Enum<F.Activation>("activation") : model == ModelKind.Transformer ? F.Activation.Gelu : F.Activation.Relu,
        BatchSize = a.Int("batch-size", 1, 1 << 20),
        Epochs = a.Int("epochs", 1, 100_000),
        Optimizer = a.Has("optimizer") ? a.Enum<OptimizerKind>("optimizer") : languageModel ? OptimizerKind.AdamW : OptimizerKind.Adam,
        LearningRate = a.Double("lr", 0),
        Momentum = a.Double("momentum"),
        WeightDecay = a.Double("weight-decay"),
        Schedule = a.Enum<ScheduleKind>("schedule"),
        WarmupSteps = a.Long("warmup-steps", 0),
        ClipNorm = a.Double("clip-norm"),
        Seed = (ulong)a.Long("seed", 0),
        Threads = a.Int("threads", 1, 1024),
        TrainLimit = a.Int("train-limit", 0),
        NanPolicy = a.Enum<NanPolicy>("nan-policy"),
        Standardize = !a.Flag("no-standardize"),
        CheckpointEvery = a.Long("checkpoint-every", 0),
        EvalEvery = a.Long("eval-every", 0),
        MicroBatches = a.Int("micro-batches", 1, 1 << 20),
    };

    /// <summary>Options a resumed run may take: the rest are the run's own settings, fixed when it started.</summary>
    internal static readonly string[] AllowedOnResume = ["resume", "data-dir", "json", "threads", "micro-batches", "distributed", "reduction"];

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        if (!a.Flag("distributed")) return Run(a, ctx, null);
        // Every rank runs this command; a failure on one rank must end the whole job, or the others wait forever.
        var comm = MpiCommunicator.Initialize();
        var dp = new DataParallel(comm) { Order = a.Enum<ReductionOrder>("reduction") };
        int code;
        try
        {
            code = Run(a, comm.Rank == 0 ? ctx : ctx.Quiet(), dp);
        }
        catch (Exception e)
        {
            code = CommandLine.Report(ctx.Error, e, a.Flag("verbose"), $"rank {comm.Rank}: ");
            comm.Abort(code);
            return code;
        }
        comm.Dispose();
        return code;
    }

    private static int Run(ParsedArguments a, CliContext ctx, DataParallel? dp)
    {
        // Listening from the start: a signal during data loading still ends the run at a checkpoint.
        using var interrupt = InterruptSignals.Listen(ctx.Error);
        Action<string> log = s => ctx.Error.WriteLine(s);
        if (IsLanguageModelRun(a))
            return TrainLanguageModel.Run(a, ctx, interrupt, dp);
        string dir = a.String("resume") ?? a.RequiredString("out");
        using var trainer = a.String("resume") is { } resume ? Resume(a, resume, log, dp) : Start(a, log, dp);
        var c = trainer.Config;
        ctx.Error.WriteLine($"{ModelFactory.Describe(trainer.Model)}{(c.Model == ModelKind.Rnn ? $" task={Spelling.Of(c.Task)}" : $" norm={Spelling.Of(c.Norm)}")} batch={c.BatchSize} epochs={c.Epochs} {Spelling.Of(c.Optimizer)} lr={c.LearningRate} seed={c.Seed} threads={c.Threads} -> {dir}");

        var summary = RunWithProgress(trainer.TotalSteps, h => trainer.Progress += h, trainer.Run, ctx, interrupt.Token);
        if (a.Flag("json"))
            ctx.Out.WriteLine(summary.ToJson());
        else
        {
            if (summary.Status != RunSummary.Interrupted)
                ctx.Out.WriteLine($"final train loss {summary.FinalTrainLoss:F4}, test loss {summary.TestLoss:F4}, test accuracy {summary.TestAccuracy:P2}");
            ctx.Out.WriteLine($"{summary.SamplesPerSecond:F0} samples/s over {summary.Steps} steps; {summary.Status}{(summary.StopReason is null ? "" : $" ({summary.StopReason})")}");
            var written = new List<string> { Path.Combine(dir, "summary.json"), "metrics.csv" };
            if (CheckpointManager.Latest(dir) is { } last) written.Add(Path.GetFileName(last.Path));
            if (summary.Status == RunSummary.Finished) written.Add("model.safetensors");
            ctx.Out.WriteLine($"wrote {string.Join(", ", written)}");
            if (summary.Status == RunSummary.Interrupted) ctx.Out.WriteLine($"continue with: normsharp train --resume {dir}");
        }
        return interrupt.ExitCodeFor(summary.Status);
    }

    /// <summary>Options that may come with --config: where the run goes and how it is spread, not what it computes.</summary>
    private static readonly string[] AllowedWithConfig = ["config", "out", "json", "threads", "micro-batches", "distributed", "reduction"];

    private static RecipeRun Start(ParsedArguments a, Action<string> log, DataParallel? dp)
    {
        var config = a.String("config") is { } file ? ConfigFile(a, file) : ReadConfig(a);
        ModelFactory.Validate(config);
        string dir = a.RequiredString("out");
        if (dir.Trim().Length == 0) throw new UsageException("--out needs a folder path, got an empty one");
        if (File.Exists(dir)) throw new UsageException($"--out {dir} is a file; a run needs a folder of its own");
        var data = LoadData(config, log, resumedFrom: null);
        try
        {
            return new RecipeRun(config, data, dir, dp, log);
        }
        catch (RunFolderOccupiedException e)
        {
            throw new UsageException(e.Message + (e.CanResume ? $"; continue it with --resume {dir}, or choose another --out" : "; choose another --out"));
        }
    }

    private static RecipeRun Resume(ParsedArguments a, string dir, Action<string> log, DataParallel? dp)
    {
        var ignored = TrainOptions().Where(o => a.Has(o) && !AllowedOnResume.Contains(o)).ToList();
        if (ignored.Count > 0)
            throw new UsageException($"--resume continues the run in {dir} with its own settings, so {string.Join(", ", ignored.Select(o => "--" + o))} cannot be given with it (remove {(ignored.Count == 1 ? "it" : "them")}, or start a new run with --out)");
        if (dir.Trim().Length == 0) throw new UsageException("--resume needs a run folder, got an empty path");
        if (File.Exists(dir)) throw new UsageException($"--resume {dir} is a file, not a run folder");
        string? movedData = a.Has("data-dir") ? DataFolder(a.String("data-dir")!) : null;
        var config = RecipeRun.ReadConfig(dir);
        if (movedData is not null) config = config with { DataDir = movedData };
        var data = LoadData(config, log, resumedFrom: movedData is null ? dir : null);
        var run = RecipeRun.Resume(dir, data, dp,
            threads: a.Has("threads") ? a.Int("threads", 1, 1024) : null,
            microBatches: a.Has("micro-batches") ? a.Int("micro-batches", 1, 1 << 20) : null,
            log: log, dataDirectory: movedData);
        log($"resuming {dir} at step {run.Trainer.State.Step}");
        return run;
    }

    internal static IEnumerable<string> TrainOptions() => Spec.Options.Select(o => o.Name);

    private static TrainingConfig ConfigFile(ParsedArguments a, string file)
    {
        var extra = TrainOptions().Where(o => a.Has(o) && !AllowedWithConfig.Contains(o)).ToList();
        if (extra.Count > 0)
            throw new UsageException($"--config {file} gives every setting, so {string.Join(", ", extra.Select(o => "--" + o))} cannot be given with it");
        if (!File.Exists(file)) throw new UsageException($"--config {file} does not exist");
        TrainingConfig? config;
        try
        {
            config = System.Text.Json.JsonSerializer.Deserialize<TrainingConfig>(File.ReadAllText(file));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new UsageException($"--config {file} is not a valid configuration: {e.Message}");
        }
        if (config is null) throw new UsageException($"--config {file} holds no configuration");
        return config with
        {
            Threads = a.Has("threads") ? a.Int("threads", 1, 1024) : config.Threads,
            MicroBatches = a.Has("micro-batches") ? a.Int("micro-batches", 1, 1 << 20) : config.MicroBatches,
        };
    }

    private static string DataFolder(string path)
    {
        if (path.Trim().Length == 0) throw new UsageException("--data-dir needs a folder path, got an empty one");
        return Path.GetFullPath(path);
    }

    /// <summary>The run's data; for a resumed run whose stored data folder is gone, the error says where it was stored and how to point to the data's new place.</summary>
    private static Data.DatasetSplit? LoadData(TrainingConfig config, Action<string> log, string? resumedFrom)
    {
        if (ModelFactory.IsSynthetic(config)) return null;
        try
        {
            return DatasetCatalog.Load(config.Dataset, config.DataDir, log);
        }
        catch (Data.DataUnavailableException e) when (resumedFrom is not null && config.DataDir is not null)
        {
            throw new UsageException($"the run in {resumedFrom} was trained on the data in {config.DataDir}, which cannot be read now ({e.Message}); if the data moved, resume with --resume {resumedFrom} --data-dir NEW_FOLDER");
        }
    }

    /// <summary>Whether the command trains (or resumes) a character language model rather than an image or sequence recipe.</summary>
    private static bool IsLanguageModelRun(ParsedArguments a)
    {
        if (a.String("resume") is { } dir)
            return dir.Trim().Length > 0 && !File.Exists(dir) && Directory.Exists(dir) && ModelFactory.IsLanguageModel(RecipeRun.ReadConfig(dir));
        var model = a.Enum<ModelKind>("model");
        return model == ModelKind.Transformer || (a.Has("task") && a.Enum<SequenceTask>("task") == SequenceTask.CharLm);
    }

    /// <summary>Runs <paramref name="run"/> with live progress: a bar when interactive, else a log line every twentieth of the steps and every message.</summary>
    internal static TSummary RunWithProgress<TSummary>(long totalSteps, Action<Action<TrainingProgress>> subscribe, Func<CancellationToken, TSummary> run, CliContext ctx, CancellationToken cancel)
    {
        if (!ctx.Interactive)
        {
            long every = Math.Max(1, totalSteps / 20);
            subscribe(r =>
            {
                if (r.Message is not null) ctx.Error.WriteLine(r.Message);
                else if (r.Step % every == 0) ctx.Error.WriteLine($"step {r.Step}/{totalSteps} ({100.0 * r.Step / Math.Max(1, totalSteps):F0}%) loss {r.SmoothedLoss:F4}");
            });
            return run(cancel);
        }
        TSummary? summary = default;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(p =>
            {
                var task = p.AddTask("training", maxValue: totalSteps);
                subscribe(r =>
                {
                    task.Value = r.Step;
                    string acc = r.TestAccuracy is { } t ? $" test acc {t:P1}" : "";
                    task.Description = $"epoch {r.Epoch + 1}/{r.Epochs} loss {r.SmoothedLoss:F4}{acc}";
                    if (r.Message is not null) AnsiConsole.MarkupLine(Markup.Escape(r.Message));
                });
                summary = run(cancel);
                task.Value = task.MaxValue;
            });
        return summary!;
    }
}
