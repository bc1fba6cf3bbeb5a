using System.Globalization;
using NormSharp.Cli.Arguments;
using NormSharp.Autograd;
using NormSharp.Datasets;
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
        Summary = "train a (layer-normalized) network on real images and report test accuracy",
        Details = "Writes DIR/metrics.csv (every step and epoch: loss, accuracy, learning rate, global and per-layer\n" +
                  "gradient norms, step time), DIR/checkpoint.safetensors (every --checkpoint-every steps and at each\n" +
                  "epoch's end), DIR/model.safetensors (PyTorch-style names) and DIR/summary.json.\n" +
                  "--resume DIR continues the run stored in DIR with its own settings; other options are then ignored.",
        Options =
        [
            new("dataset", "NAME", "the dataset", "mnist-digits") { Choices = DatasetCatalog.Names },
            new("data-dir", "DIR", "a folder with the four IDX files (train/t10k images/labels, plain or .gz)"),
            new("model", "KIND", "the model", "mlp") { Choices = Spelling.Names<ModelKind>() },
            new("cell", "KIND", "recurrent cell for --model rnn", "ln-lstm") { Choices = Spelling.Names<CellKind>() },
            new("task", "NAME", "what --model rnn learns: MNIST read as sequences, or a generated task", "seq-mnist-rows") { Choices = Spelling.Names<SequenceTask>() },
            new("layers", "N", "stacked recurrent layers", "1"),
            new("sequence-length", "T", "adding: sequence length; copy: the delay before recall", "100"),
            new("bptt", "K", "truncated backpropagation through the last K time steps (0: all; combine with --clip-norm)", "0"),
            new("hidden", "W1,W2,..", "hidden layer widths (mlp), or the hidden size (rnn; default 128)", "1000,1000"),
            new("norm", "KIND", "normalization of the hidden layers", "layer") { Choices = Spelling.Names<NormKind>() },
            new("activation", "F", "hidden nonlinearity", "relu") { Choices = Spelling.Names<F.Activation>() },
            new("batch-size", "N", "samples per step", "128"),
            new("epochs", "E", "passes over the training set", "5"),
            new("optimizer", "NAME", "the optimizer", "adam") { Choices = Spelling.Names<OptimizerKind>() },
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
            new("json", null, "print the summary as JSON instead of a table"),
        ],
        Handler = Run,
        Examples =
        [
            "normsharp train --dataset mnist-digits --norm layer --epochs 5 --out runs/ln",
            "normsharp train --dataset fashion-mnist --norm batch --batch-size 4 --epochs 1 --out runs/bn4",
            "normsharp train --model rnn --cell ln-lstm --task seq-mnist-rows --epochs 10 --out runs/lnlstm",
            "normsharp train --model rnn --cell lstm --task adding --sequence-length 100 --epochs 5 --out runs/adding",
            "normsharp train --resume runs/ln",
        ],
    };

    private static TrainingConfig ReadConfig(ParsedArguments a) => new()
    {
        Dataset = a.Choice("dataset", [.. DatasetCatalog.Names]),
        DataDir = a.String("data-dir"),
        Model = a.Enum<ModelKind>("model"),
        Cell = a.Enum<CellKind>("cell"),
        Task = a.Enum<SequenceTask>("task"),
        Layers = a.Int("layers", 1, 64),
        Bptt = a.Int("bptt", 0),
        SequenceLength = a.Int("sequence-length", 2, 100_000),
        Hidden = a.Has("hidden") || a.String("model") != "rnn" ? a.IntList("hidden") : [128],
        Norm = a.Enum<NormKind>("norm"),
        Activation = a.Enum<F.Activation>("activation"),
        BatchSize = a.Int("batch-size", 1, 1 << 20),
        Epochs = a.Int("epochs", 1, 100_000),
        Optimizer = a.Enum<OptimizerKind>("optimizer"),
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
    };

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        RecipeRun trainer;
        string dir;
        Action<string> log = s => ctx.Error.WriteLine(s);
        if (a.String("resume") is { } resume)
        {
            dir = resume;
            var config = RecipeRun.ReadConfig(dir);
            var data = ModelFactory.IsSynthetic(config) ? null : DatasetCatalog.Load(config.Dataset, config.DataDir, log);
            trainer = RecipeRun.Resume(dir, data);
            ctx.Error.WriteLine($"resuming {dir}");
        }
        else
        {
            var config = ReadConfig(a);
            ModelFactory.Validate(config);
            dir = a.RequiredString("out");
            // Never clobber a run: its checkpoint and metrics are someone's work.
            if (File.Exists(Path.Combine(dir, Checkpoint.FileName)) || File.Exists(Path.Combine(dir, "metrics.csv")))
                throw new UsageException($"--out {dir} already holds a training run; continue it with --resume {dir}, or choose another --out");
            var data = ModelFactory.IsSynthetic(config) ? null : DatasetCatalog.Load(config.Dataset, config.DataDir, log);
            trainer = new RecipeRun(config, data, dir);
        }
        var c = trainer.Config;
        ctx.Error.WriteLine($"{ModelFactory.Describe(trainer.Model)}{(c.Model == ModelKind.Rnn ? $" task={Spelling.Of(c.Task)}" : $" norm={Spelling.Of(c.Norm)}")} batch={c.BatchSize} epochs={c.Epochs} {Spelling.Of(c.Optimizer)} lr={c.LearningRate} seed={c.Seed} threads={c.Threads} -> {dir}");

        // Ctrl-C finishes the current step, writes a checkpoint and ends the run cleanly.
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        RunSummary summary;
        try
        {
            summary = ctx.Interactive ? RunWithProgressBar(trainer, cts.Token) : RunWithLogLines(trainer, ctx, cts.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
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

    private static RunSummary RunWithProgressBar(RecipeRun trainer, CancellationToken cancel)
    {
        RunSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(p =>
            {
                var task = p.AddTask("training", maxValue: trainer.TotalSteps);
                trainer.Progress += r =>
                {
                    task.Value = r.Step;
                    string acc = r.TestAccuracy is { } t ? $" test acc {t:P1}" : "";
                    task.Description = $"epoch {r.Epoch + 1}/{r.Epochs} loss {r.SmoothedLoss:F4}{acc}";
                    if (r.Message is not null) AnsiConsole.MarkupLine(Markup.Escape(r.Message));
                };
                summary = trainer.Run(cancel);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    private static RunSummary RunWithLogLines(RecipeRun trainer, CliContext ctx, CancellationToken cancel)
    {
        long every = Math.Max(1, trainer.TotalSteps / 20);
        trainer.Progress += r =>
        {
            if (r.Message is not null) ctx.Error.WriteLine(r.Message);
            else if (r.Step % every == 0) ctx.Error.WriteLine($"step {r.Step}/{r.TotalSteps} ({100.0 * r.Step / r.TotalSteps:F0}%) loss {r.SmoothedLoss:F4}");
        };
        return trainer.Run(cancel);
    }
}
