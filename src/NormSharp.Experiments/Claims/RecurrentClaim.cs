using NormSharp.IO.Safetensors;
using NormSharp.Layers;
using NormSharp.Tensors;
using NormSharp.Experiments.Recipes;
using NormSharp.Experiments.Recipes.Tasks;

namespace NormSharp.Experiments.Claims;

/// <summary>F: LN-LSTM trains faster and more stably than the LSTM; BN-LSTM's per-step statistics do not carry to longer sequences.</summary>
public static class RecurrentClaim
{
    private static readonly string[] Cells = ["lstm", "ln-lstm", "bn-lstm"];

    /// <summary>Runs the cells on sequential MNIST (rows) and on the adding problem, then evaluates the adding models on sequences twice as long.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var p = ctx.Profile;
        TrainingConfig Seq(string cell, ulong s) => new()
        {
            Dataset = ctx.Dataset,
            DataDir = ctx.DataDir,
            Model = ModelKind.Rnn,
            Cell = Spelling.Parse<NormSharp.Layers.Recurrent.CellKind>(cell, "cell"),
            Task = SequenceTask.SeqMnistRows,
            Hidden = [p.RecurrentHidden],
            BatchSize = 64,
            Epochs = p.RecurrentEpochs,
            LearningRate = 1e-3,
            TrainLimit = p.RecurrentImages,
            Seed = s,
            Threads = NormSharp.Threading.ParallelFor.MaxThreads,
        };
        TrainingConfig Adding(string cell, ulong s) => Seq(cell, s) with { Task = SequenceTask.Adding, SequenceLength = p.AddingLength, TrainLimit = p.RecurrentImages > 0 ? 2 * p.RecurrentImages : 10_000, Epochs = p.RecurrentEpochs + 1, Standardize = false };

        var seq = Cells.ToDictionary(c => c, c => ctx.SeedList.Select(s => ctx.Runner.Run($"F-seq-{c}-s{s}", Seq(c, s))).ToList());
        var add = Cells.ToDictionary(c => c, c => ctx.SeedList.Select(s => ctx.Runner.Run($"F-add-{c}-s{s}", Adding(c, s))).ToList());

        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        var curves = new List<Series>();
        var norms = new List<Series>();
        foreach (var c in Cells)
        {
            double area = Stats.Mean(seq[c].Select(r => Stats.Mean(r.StepLoss)));
            double err = Stats.Mean(seq[c].Select(r => 1 - r.Summary.TestAccuracy));
            var h = Stats.Band(seq[c].Select(r => r.HiddenNorms).ToList()).Mean;
            double growth = h.Length > 1 && h[0] > 0 ? h[^1] / h[0] : double.NaN;
            double mseT = Stats.Mean(add[c].Select(r => r.Summary.TestLoss));
            double mse2T = Stats.Mean(add[c].Zip(ctx.SeedList).Select(t => LongerSequenceMse(ctx, t.First, Adding(c, t.Second))));
            evidence[$"seq_mnist_mean_train_loss.{c}"] = area;
            evidence[$"seq_mnist_test_error.{c}"] = err;
            evidence[$"hidden_norm_last_over_first.{c}"] = growth;
            evidence[$"adding_mse_T.{c}"] = mseT;
            evidence[$"adding_mse_2T.{c}"] = mse2T;
            rows.Add([c, SuiteContext.Num(area, "F4"), SuiteContext.MeanStd(seq[c].Select(r => 1 - r.Summary.TestAccuracy)), SuiteContext.Num(growth, "F2"), SuiteContext.Num(mseT, "F4"), SuiteContext.Num(mse2T, "F4")]);
            var (m, sd) = Stats.Band(seq[c].Select(r => Stats.Smooth(r.StepLoss, 0.05)).ToList());
            curves.Add(new Series(c, Enumerable.Range(1, m.Length).Select(i => (double)i).ToArray(), m, sd));
            norms.Add(new Series(c, Enumerable.Range(1, h.Length).Select(i => (double)i).ToArray(), h));
        }
        var verdict = VerdictRules.RecurrentStability(evidence["seq_mnist_mean_train_loss.ln-lstm"], evidence["seq_mnist_mean_train_loss.lstm"]);
        return new ClaimResult
        {
            Id = "F",
            Title = "Layer normalization stabilizes recurrent networks: LN-LSTM trains faster than LSTM, without BN-LSTM's per-step statistics",
            Setup = $"LSTM vs LN-LSTM vs BN-LSTM (hidden {p.RecurrentHidden}), Adam lr 1e-3, batch 64, {ctx.Seeds} seeds: sequential MNIST read row by row ({(p.RecurrentImages > 0 ? $"{p.RecurrentImages} images" : "all images")}, {p.RecurrentEpochs} epochs), and the adding problem at length {p.AddingLength}, evaluated also at length {2 * p.AddingLength} (BN-LSTM reuses its last trained step's statistics there).",
            Rule = "with the mean training loss over the whole sequential-MNIST run (the area under the learning curve, mean over seeds): supported if LN-LSTM's is ≤ 0.95× the LSTM's; not supported if it is at least as large; otherwise inconclusive. Hidden-state norms and the longer-sequence errors are reported, not judged.",
            Verdict = verdict,
            Evidence = evidence,
            Tables = [new ReportTable("sequential MNIST and the adding problem", ["cell", "mean train loss", "test error", "‖h‖ last/first step", $"adding MSE (T={p.AddingLength})", $"adding MSE (T={2 * p.AddingLength})"], rows)],
            Figures =
            [
                new Figure("F-learning-curves", "F: smoothed training loss on sequential MNIST (mean ± sd over seeds)", "step", "training loss", curves, LogY: true),
                new Figure("F-hidden-norm", "F: mean ‖h_t‖ over the time steps at the end of training", "time step", "mean ‖h_t‖", norms),
            ],
        };
    }

    /// <summary>Loads a trained adding model into one built for twice the length and scores it on longer test sequences.</summary>
    private static double LongerSequenceMse(SuiteContext ctx, RunResult run, TrainingConfig config)
    {
        if (run.Summary.Diverged) return double.NaN;
        string weights = Path.Combine(ctx.Runner.RunDirectory(run.Id), "model.safetensors");
        var longer = config with { SequenceLength = 2 * config.SequenceLength, TrainLimit = 1 };
        var task = new AddingTask(longer);
        var model = task.BuildModel(longer, new Rng(config.Seed));
        var file = SafetensorsFile.Read(weights);
        foreach (var (name, t) in model.StateDict())
            if (file.Contains(name)) t.CopyFrom(file.GetTensor(name));
        return task.Evaluate(model).Loss;
    }
}
