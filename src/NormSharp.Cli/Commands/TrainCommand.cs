using System.Globalization;
using NormSharp.Cli.Arguments;
using NormSharp.Autograd;
using NormSharp.Datasets;
using NormSharp.Distributed;
using NormSharp.Experiments.Recipes;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Training;
using Spectre.Console;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp train</c>: trains a model on real data with live progress, metrics, checkpoints and a summary.</summary>
internal static class TrainCommand
{
    public static CommandSpec Spec { get; } = new()
    {
        Name = "train",
        Summary = "train a (layer-normalized) network on real images, or a character language model on real text",
        Details = "Writes DIR/metrics.csv (every step and epoch: loss, accuracy, learning rate, global and per-layer\n" +
                  "gradient norms, step time), DIR/checkpoint.safetensors (every --checkpoint-every steps and at each\n" +
                  "epoch's end), DIR/model.safetensors (PyTorch-style names) and DIR/summary.json.\n" +
                  "--resume DIR continues the run stored in DIR with its own settings; only --threads, --micro-batches,\n" +
                  "--distributed and --reduction may change (they are not part of the run's identity); others are ignored.\n" +
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

    private static TrainingConfig ReadConfig(ParsedArguments a)
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
        DataDir = a.String("data-dir"),
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
        RecipeRun trainer;
        string dir;
        Action<string> log = s => ctx.Error.WriteLine(s);
        if (a.String("resume") is { } resume)
        {
            dir = resume;
            var config = RecipeRun.ReadConfig(dir);
            if (ModelFactory.IsLanguageModel(config)) return dp is null ? TrainLanguageModel.Resume(dir, config, a, ctx) : throw LanguageModelsRunInOneProcess();
            var data = ModelFactory.IsSynthetic(config) ? null : DatasetCatalog.Load(config.Dataset, config.DataDir, log);
            trainer = RecipeRun.Resume(dir, data, dp,
                threads: a.Has("threads") ? a.Int("threads", 1, 1024) : null,
                microBatches: a.Has("micro-batches") ? a.Int("micro-batches", 1, 1 << 20) : null);
            ctx.Error.WriteLine($"resuming {dir}");
        }
        else
        {
            var config = ReadConfig(a);
            ModelFactory.Validate(config);
            dir = a.RequiredString("out");
            // Never clobber a run: its checkpoint and metrics are someone's work (rank 0 writes them, so it checks).
            if (dp is not { Rank: not 0 } && (File.Exists(Path.Combine(dir, Checkpoint.FileName)) || File.Exists(Path.Combine(dir, "metrics.csv"))))
                throw new UsageException($"--out {dir} already holds a training run; continue it with --resume {dir}, or choose another --out");
            if (ModelFactory.IsLanguageModel(config)) return dp is null ? TrainLanguageModel.Start(config, dir, a, ctx) : throw LanguageModelsRunInOneProcess();
            var data = ModelFactory.IsSynthetic(config) ? null : DatasetCatalog.Load(config.Dataset, config.DataDir, log);
            trainer = new RecipeRun(config, data, dir, dp);
        }
        var c = trainer.Config;
        ctx.Error.WriteLine($"{ModelFactory.Describe(trainer.Model)}{(c.Model == ModelKind.Rnn ? $" task={Spelling.Of(c.Task)}" : $" norm={Spelling.Of(c.Norm)}")} batch={c.BatchSize} epochs={c.Epochs} {Spelling.Of(c.Optimizer)} lr={c.LearningRate} seed={c.Seed} threads={c.Threads} -> {dir}");

        var summary = RunInterruptibly(trainer.TotalSteps, h => trainer.Progress += h, trainer.Run, ctx);
        if (a.Flag("json"))
            ctx.Out.WriteLine(summary.ToJson());
        else
        {
            ctx.Out.WriteLine($"final train loss {summary.FinalTrainLoss:F4}, test loss {summary.TestLoss:F4}, test accuracy {summary.TestAccuracy:P2}");
            ctx.Out.WriteLine($"{summary.SamplesPerSecond:F0} samples/s over {summary.Steps} steps; diverged: {(summary.Diverged ? "yes" : "no")}{(summary.StopReason is null ? "" : $" ({summary.StopReason})")}");
            ctx.Out.WriteLine($"wrote {Path.Combine(dir, "summary.json")}, metrics.csv, model.safetensors");
        }
        return summary.Diverged ? CommandLine.RuntimeFailure : CommandLine.Ok;
    }

    private static UsageException LanguageModelsRunInOneProcess() => new("--distributed does not train char-lm runs yet; run them in one process");

    /// <summary>
    /// Runs a training run with live progress (a bar when interactive, log lines otherwise). Ctrl-C finishes the
    /// current step, writes a checkpoint and ends the run cleanly.
    /// </summary>
    internal static TSummary RunInterruptibly<TSummary>(long totalSteps, Action<Action<TrainingProgress>> subscribe, Func<CancellationToken, TSummary> run, CliContext ctx)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return ctx.Interactive
                ? RunWithProgressBar(totalSteps, subscribe, run, cts.Token)
                : RunWithLogLines(totalSteps, subscribe, run, ctx, cts.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Runs <paramref name="run"/> under a live progress bar of <paramref name="totalSteps"/> steps fed by <paramref name="subscribe"/>.</summary>
    private static TSummary RunWithProgressBar<TSummary>(long totalSteps, Action<Action<TrainingProgress>> subscribe, Func<CancellationToken, TSummary> run, CancellationToken cancel)
    {
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

    /// <summary>Runs <paramref name="run"/>, logging a line every twentieth of <paramref name="totalSteps"/> and every message.</summary>
    private static TSummary RunWithLogLines<TSummary>(long totalSteps, Action<Action<TrainingProgress>> subscribe, Func<CancellationToken, TSummary> run, CliContext ctx, CancellationToken cancel)
    {
        long every = Math.Max(1, totalSteps / 20);
        subscribe(r =>
        {
            if (r.Message is not null) ctx.Error.WriteLine(r.Message);
            else if (r.Step % every == 0) ctx.Error.WriteLine($"step {r.Step}/{totalSteps} ({100.0 * r.Step / Math.Max(1, totalSteps):F0}%) loss {r.SmoothedLoss:F4}");
        });
        return run(cancel);
    }
}
