using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

/// <summary>The general Trainer on a user's own model, loss and batches.</summary>
public class GeneralTrainerTests
{
    /// <summary>A pre-norm residual block written the way a user would: x + W2·relu(W1·LN(x)), then a linear head.</summary>
    private sealed class ResidualRegressor : Module
    {
        public ResidualRegressor(int width, Rng rng)
        {
            Norm = new LayerNorm(width);
            Up = new Linear(width, 2 * width, rng);
            Down = new Linear(2 * width, width, rng);
            Head = new Linear(width, 1, rng);
        }

        public LayerNorm Norm { get; }
        public Linear Up { get; }
        public Linear Down { get; }
        public Linear Head { get; }

        public override Variable Forward(Variable x) => Head.Forward(F.Add(x, Down.Forward(F.Relu(Up.Forward(Norm.Forward(x))))));
    }

    private sealed record Batch(Tensor X, Tensor Y);

    /// <summary>y = sum of the inputs, as a list of batches.</summary>
    private static List<Batch> SumTask(int batches, int batchSize, int width, ulong seed)
    {
        var rng = new Rng(seed);
        var list = new List<Batch>();
        for (int b = 0; b < batches; b++)
        {
            var x = Tensor.Zeros(batchSize, width);
            rng.FillNormal(x.Span, 0, 1);
            var y = Tensor.Zeros(batchSize, 1);
            for (int i = 0; i < batchSize; i++)
            {
                float s = 0;
                for (int j = 0; j < width; j++) s += x[i, j];
                y[i, 0] = s;
            }
            list.Add(new Batch(x, y));
        }
        return list;
    }

    private static Trainer<Batch> NewTrainer(ResidualRegressor model, double lr = 1e-2) =>
        new(model, new AdamW(ParameterGroups.DecayWeightsOnly(model, 0.01), lr), (m, b) => F.Mse(m.Forward(Variable.Constant(b.X)), b.Y));

    [Fact]
    public void TrainsAUsersModelFromAListOfBatches()
    {
        var model = new ResidualRegressor(8, new Rng(1));
        var data = SumTask(16, 32, 8, 2);
        var trainer = NewTrainer(model);
        var losses = new List<double>();
        var progress = new ProgressReporter();
        progress.Progress += p => { if (p.Message is null) losses.Add(p.Loss); };
        trainer.Add(progress);
        var result = trainer.Fit(data, epochs: 20);
        Assert.Equal(16 * 20, result.Steps);
        Assert.Equal(20, result.Epochs);
        Assert.False(result.Diverged);
        Assert.Null(result.StopReason);
        Assert.True(losses[^1] < 0.1 * losses[0], $"loss {losses[0]} -> {losses[^1]}");
        Assert.Equal(16 * 20, trainer.TotalSteps);
    }

    [Fact]
    public void EveryMomentOfAStepRunsInOrderAndGradientsAreReportedOncePerParameter()
    {
        var model = new ResidualRegressor(4, new Rng(1));
        var trainer = NewTrainer(model);
        var log = new Recorder();
        trainer.Add(log);
        trainer.Fit(SumTask(2, 4, 4, 3), epochs: 1);
        int parameters = model.Parameters().Count;
        var expectedStep = new[] { "start", "loss" }.Concat(Enumerable.Repeat("grad", parameters)).Concat(["backward", "end"]);
        Assert.Equal(["fit", .. expectedStep, .. expectedStep, "epoch", "fitend"], log.Events);
        Assert.Equal(parameters, log.Parameters.Distinct().Count());
        // Reported while the backward pass runs, from the output side: the head's gradients are final first.
        Assert.True(ReferenceEquals(log.Parameters[0], model.Head.Weight) || ReferenceEquals(log.Parameters[0], model.Head.Bias));
        Assert.True(ReferenceEquals(log.Parameters[^1], model.Norm.Weight) || ReferenceEquals(log.Parameters[^1], model.Norm.Bias));
    }

    private sealed class Recorder : ITrainerCallback, IGradientReadyCallback
    {
        public List<string> Events { get; } = [];
        public List<Variable> Parameters { get; } = [];
        public void OnFitStart(Trainer trainer) => Events.Add("fit");
        public void OnStepStart(StepContext step) => Events.Add("start");
        public void OnLoss(StepContext step) => Events.Add("loss");
        public void OnBackward(StepContext step) => Events.Add("backward");
        public void OnStepEnd(StepContext step) => Events.Add("end");
        public void OnEpochEnd(EpochContext epoch) => Events.Add("epoch");
        public void OnFitEnd(Trainer trainer, FitResult result) => Events.Add("fitend");

        public void OnGradientReady(StepContext step, Variable parameter)
        {
            Assert.True(parameter.HasGrad);
            Events.Add("grad");
            Parameters.Add(parameter);
        }
    }

    [Fact]
    public void AResumedFitOnABatchLoaderEndsWithTheWeightsOfAnUninterruptedOne()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path, train: 100, test: 20);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        Trainer<LabeledBatch> Make(string run, out BatchLoader loader, out Mlp model)
        {
            model = new Mlp([784, 16, 4], NormKind.Layer, new Rng(5));
            loader = new BatchLoader(data.Train, 8, seed: 7);
            var trainer = new Trainer<LabeledBatch>(model, new Adam(model.Parameters(), 1e-3), (m, b) =>
                new StepLoss(F.CrossEntropy(m.Forward(Variable.Constant(b.Inputs)), b.Labels), b.Count))
            {
                Schedule = new CosineSchedule(13 * 3),
            };
            trainer.Add(new MetricsCsvLogger(Path.Combine(run, "metrics.csv")));
            trainer.Add(new CheckpointManager(run, everySteps: 5));
            return trainer;
        }

        var straight = Make(Path.Combine(dir.Path, "a"), out var loaderA, out var modelA);
        straight.Fit(loaderA, epochs: 3);

        string run = Path.Combine(dir.Path, "b");
        var first = Make(run, out var loaderB, out _);
        using var cts = new CancellationTokenSource();
        var stopper = new ProgressReporter();
        stopper.Progress += p => { if (p.Step == 17) cts.Cancel(); };
        first.Add(stopper);
        var partial = first.Fit(loaderB, epochs: 3, cts.Token);
        Assert.True(partial.WasInterrupted);
        Assert.Equal(17, partial.Steps);

        var resumed = Make(run, out var loaderC, out var modelC);
        resumed.LoadCheckpoint(CheckpointManager.Latest(run)!.Path);
        var rest = resumed.Fit(loaderC, epochs: 3);
        Assert.Equal(39, rest.Steps);
        foreach (var ((name, a), (_, c)) in modelA.StateDict().Zip(modelC.StateDict())) Assert.True(a.ToArray().SequenceEqual(c.ToArray()), name);
        Assert.Equal(File.ReadAllLines(Path.Combine(dir.Path, "a", "metrics.csv")).Select(StripTime), File.ReadAllLines(Path.Combine(run, "metrics.csv")).Select(StripTime));
    }

    /// <summary>A metrics row without its two timing cells (step_ms, step_cpu_ms), the only ones that may differ.</summary>
    private static string StripTime(string line)
    {
        var cells = line.Split(',');
        cells[7] = cells[8] = "";
        return string.Join(",", cells);
    }

    [Fact]
    public void ASourceThatCannotSeekIsFastForwardedOnResume()
    {
        using var dir = new TestData.TempDir();
        var data = SumTask(5, 4, 4, 3);
        var straightModel = new ResidualRegressor(4, new Rng(1));
        NewTrainer(straightModel).Fit(data, epochs: 2);

        var first = NewTrainer(new ResidualRegressor(4, new Rng(1)));
        first.Add(new CheckpointManager(dir.Path, everySteps: 3));
        first.Add(new StopAt(8));
        Assert.Equal("test stop", first.Fit(data, epochs: 2).StopReason);

        var model = new ResidualRegressor(4, new Rng(9));
        var again = NewTrainer(model);
        var notices = new List<string>();
        var progress = new ProgressReporter();
        progress.Progress += p => { if (p.Message is { } m) notices.Add(m); };
        again.Add(progress);
        again.LoadCheckpoint(CheckpointManager.Latest(dir.Path)!.Path);
        Assert.Equal(6, again.State.Step);
        Assert.Equal(1, again.State.BatchesIntoEpoch);
        Assert.Equal(10, again.Fit(data, epochs: 2).Steps);
        Assert.Contains(notices, n => n.Contains("cannot restore its position"));
        foreach (var ((name, a), (_, b)) in straightModel.StateDict().Zip(model.StateDict())) Assert.True(a.ToArray().SequenceEqual(b.ToArray()), name);
    }

    private sealed class StopAt(long step) : ITrainerCallback
    {
        public void OnStepEnd(StepContext s)
        {
            if (s.Step == step) s.Trainer.RequestStop("test stop", diverged: false);
        }
    }

    [Fact]
    public void EarlyStoppingEndsTheRunWhenTheHeldOutLossStopsImproving()
    {
        var model = new ResidualRegressor(4, new Rng(1));
        var trainer = NewTrainer(model);
        int evaluations = 0;
        trainer.Evaluator = _ => new EvaluationResult(evaluations++ < 2 ? 1.0 / evaluations : 5.0);
        trainer.Add(new EarlyStopping(patience: 3));
        var result = trainer.Fit(SumTask(2, 4, 4, 3), epochs: 50);
        Assert.False(result.Diverged);
        Assert.StartsWith("early stopping", result.StopReason);
        Assert.Equal(5, result.Epochs);
    }

    [Fact]
    public void ANonFiniteLossIsSkippedOrStopsTheRunAndNamesTheStep()
    {
        var model = new ResidualRegressor(4, new Rng(1));
        var data = SumTask(6, 4, 4, 3);
        data[2].X[0, 0] = float.NaN;
        var skipping = NewTrainer(model);
        skipping.Add(new NanGuard(NanPolicy.Skip));
        var skipped = skipping.Fit(data, epochs: 2);
        Assert.False(skipped.Diverged);
        Assert.Equal(10, skipped.Steps);
        Assert.All(model.Parameters(), p => Assert.True(p.Value.ToArray().All(float.IsFinite)));

        var stopping = NewTrainer(new ResidualRegressor(4, new Rng(1)));
        stopping.Add(new NanGuard());
        var stopped = stopping.Fit(data, epochs: 2);
        Assert.True(stopped.Diverged);
        Assert.Equal(2, stopped.Steps);
        Assert.Contains("non-finite loss NaN at step 3", stopped.StopReason);
        Assert.Throws<InvalidValueException>(() => new NanGuard(NanPolicy.Rollback));
    }

    [Fact]
    public void TheScheduleScalesEveryGroupFromItsOwnInitialRate()
    {
        var model = new ResidualRegressor(4, new Rng(1));
        var groups = new[] { new ParameterGroup(model.Up.Parameters(), learningRate: 0.1), new ParameterGroup(model.Parameters().Except(model.Up.Parameters())) };
        var optimizer = new Sgd(groups, lr: 0.01);
        var trainer = new Trainer<Batch>(model, optimizer, (m, b) => F.Mse(m.Forward(Variable.Constant(b.X)), b.Y)) { Schedule = new StepSchedule(1, 0.5) };
        var rates = new List<(double, double)>();
        var probe = new LearningRateProbe(rates);
        trainer.Add(probe);
        trainer.Fit(SumTask(3, 4, 4, 1), epochs: 1);
        Assert.Equal([(0.1, 0.01), (0.05, 0.005), (0.025, 0.0025)], rates);
    }

    private sealed class LearningRateProbe(List<(double, double)> rates) : ITrainerCallback
    {
        public void OnStepStart(StepContext step) => rates.Add((step.Trainer.Optimizer.Groups[0].LearningRate, step.Trainer.Optimizer.Groups[1].LearningRate));
    }

    [Fact]
    public void PartsAreCheckedWhenAdded()
    {
        var trainer = NewTrainer(new ResidualRegressor(4, new Rng(1)));
        Assert.Throws<InvalidValueException>(() => trainer.Add("not a part"));
        var detector = new DivergenceDetector();
        trainer.Add(detector);
        Assert.Throws<InvalidValueException>(() => trainer.Add(detector));
        Assert.Throws<InvalidValueException>(() => trainer.Add(new DivergenceDetector()));
    }

    [Fact]
    public void ABatchIsReadableUntilTheLoaderReusesItsBuffers()
    {
        var images = Tensor.Zeros(12, 4);
        for (int i = 0; i < 12; i++) images[i, 0] = i;
        var loader = new BatchLoader(new Dataset("d", images, new int[12], 1, 2, 2), 3, seed: 1, shuffle: false);
        Assert.True(loader.TryGetNext(out var first));
        Assert.True(loader.TryGetNext(out var second));
        // The usual prefetch: the previous batch is intact while the next one is fetched.
        Assert.Equal(0f, first.Inputs[0, 0]);
        Assert.Equal(3f, second.Inputs[0, 0]);
        Assert.True(loader.TryGetNext(out _));
        var e = Assert.Throws<NormSharpException>(() => first.Inputs);
        Assert.Contains("reused this batch's buffers", e.Message);
        Assert.Equal(3f, second.Inputs[0, 0]);
    }
}
