using System.Diagnostics;
using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Optimizers;

namespace NormSharp.Training;

/// <summary>
/// Trains any <see cref="Module"/>: for each batch of an <see cref="IBatchSource{TBatch}"/> (or any sequence
/// of batches) it computes the loss with the given <see cref="LossFunction{TBatch}"/>, backpropagates and
/// updates the parameters, with the learning rate set by <see cref="Trainer.Schedule"/>. Everything else
/// (metrics, checkpoints, fault guards, divergence detection, clipping, early stopping, progress) is a part
/// added with <see cref="Trainer.Add"/>.
/// </summary>
/// <example>
/// <code>
/// var trainer = new Trainer&lt;LabeledBatch&gt;(model, new AdamW(ParameterGroups.DecayWeightsOnly(model, 0.01), lr: 1e-3),
///     (m, b) =&gt; F.CrossEntropy(m.Forward(Variable.Constant(b.Inputs)), b.Labels));
/// trainer.Add(new MetricsCsvLogger("run/metrics.csv")).Add(new CheckpointManager("run", everySteps: 500));
/// var result = trainer.Fit(loader, epochs: 5);
/// </code>
/// </example>
public sealed class Trainer<TBatch> : Trainer
{
    private readonly LossFunction<TBatch> _loss;
    private readonly StepContext _step;

    /// <summary>Sets up training of <paramref name="model"/> by <paramref name="optimizer"/> on <paramref name="loss"/>.</summary>
    public Trainer(Module model, Optimizer optimizer, LossFunction<TBatch> loss) : base(model, optimizer)
    {
        ArgumentNullException.ThrowIfNull(loss);
        _loss = loss;
        _step = new StepContext(this);
    }

    /// <summary>
    /// Splits every batch into this many equal consecutive micro-batches (default 1): each is run forward and
    /// backward on its own, and their gradients, each weighted by its share of the batch, are summed in order.
    /// Memory scales with the micro-batch; the update is that of the whole batch. Needs <see cref="Splitter"/>.
    /// With <see cref="Trainer.DataParallel"/>, every rank runs this many micro-batches of its share.
    /// </summary>
    public int MicroBatches
    {
        get;
        set => field = value >= 1 ? value : throw new InvalidValueException(nameof(MicroBatches), $"Trainer: MicroBatches must be at least 1, got {value}.");
    } = 1;

    /// <summary>How batches are cut into micro-batches and ranks' shares (needed with <see cref="MicroBatches"/> above 1 or <see cref="Trainer.DataParallel"/>).</summary>
    public IBatchSplitter<TBatch>? Splitter { get; set; }

    /// <summary>Trains for <paramref name="epochs"/> passes over <paramref name="batches"/> (enumerated once per epoch).</summary>
    public FitResult Fit(IEnumerable<TBatch> batches, int epochs, CancellationToken cancel = default) =>
        Fit(batches as IBatchSource<TBatch> ?? new EnumerableBatchSource<TBatch>(batches), epochs, cancel);

    /// <summary>
    /// Trains until <paramref name="epochs"/> epochs are complete (counting those before a loaded checkpoint), a
    /// part stops the run, or <paramref name="cancel"/> is signalled (the current step finishes first).
    /// </summary>
    public FitResult Fit(IBatchSource<TBatch> source, int epochs, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if ((MicroBatches > 1 || DataParallel is not null) && Splitter is null)
            throw new InvalidValueException(nameof(Splitter), "Trainer: micro-batches and data-parallel training cut batches into parts; set Trainer.Splitter (LabeledBatchSplitter for LabeledBatch).");
        int skip = BeginFit(source, epochs, source.BatchesPerEpoch);
        var deferred = MicroBatches > 1 || DataParallel is not null ? Distributed.DeferredBatchStatistics.Attach(Model) : [];
        try
        {
            return RunFit(source, epochs, cancel, skip, deferred);
        }
        catch
        {
            AbortFit();
            throw;
        }
        finally
        {
            Distributed.DeferredBatchStatistics.Detach(deferred);
        }
    }

    private Distributed.DeferredBatchStatistics[] _deferred = [];

    private FitResult RunFit(IBatchSource<TBatch> source, int epochs, CancellationToken cancel, int skip, Distributed.DeferredBatchStatistics[] deferred)
    {
        _deferred = deferred;
        for (int i = 0; i < skip; i++)
            if (!source.TryGetNext(out _))
                throw new InvalidValueException(nameof(source), $"Trainer.Fit: the checkpoint had used {skip} batches of its epoch, but the source's epoch ends after {i}; is it the same data?");
        var trainTime = new Stopwatch();
        long samples = 0;
        while (true)
        {
            // Checked before every batch, skipped or rolled-back steps included, so a fault loop cannot outlast a
            // cancellation. Ranks of a data-parallel run stop together: each step's reduction carries the request (below).
            if (cancel.IsCancellationRequested && DataParallel is null) RequestStop(FitResult.Interrupted, diverged: false);
            if (StopReason is not null || State.Epoch >= epochs) break;
            if (!source.TryGetNext(out var batch))
            {
                EndEpoch();
                continue;
            }
            State.BatchesIntoEpoch++;
            _cancel = cancel;
            if (RunStep(batch, trainTime)) samples += _step.Samples;
        }
        double seconds = trainTime.Elapsed.TotalSeconds;
        double finalLoss = double.IsNaN(State.LastEpochLoss) ? State.EpochLossSoFar : State.LastEpochLoss;
        var result = new FitResult(State.Step, Math.Min(State.Epoch, epochs), finalLoss, seconds > 0 ? samples / seconds : 0, Diverged, StopReason);
        EndFit(result);
        return result;
    }

    /// <summary>One step on <paramref name="batch"/>; false when a part abandoned it.</summary>
    private bool RunStep(TBatch batch, Stopwatch trainTime)
    {
        if (MicroBatches > 1 || DataParallel is not null) return RunPartitionedStep(batch, trainTime);
        var step = _step;
        trainTime.Start();
        step.Begin(State.Step + 1, State.Epoch, ApplyLearningRates());
        RunStepStart(step);
        Optimizer.ZeroGrad();
        // A step whose backward was skipped (a fault) leaves its graph behind; each step starts clean.
        Tape.Current.Reset();
        var output = _loss(Model, batch);
        if (output.Loss is null) throw new InvalidValueException("loss", "Trainer: the loss function returned no loss variable.");
        step.Loss = output.Loss.Item();
        step.Samples = output.Samples;
        step.Correct = output.Correct;
        step.Scored = output.Scored;
        RunLoss(step);
        if (!step.Skipped && StopReason is null)
        {
            Backpropagate(step, output.Loss);
            RunBackward(step);
        }
        if (step.Skipped || StopReason is not null)
        {
            trainTime.Stop();
            return false;
        }
        return FinishStep(step, trainTime);
    }

    /// <summary>The update and the step's bookkeeping, once the gradients are final.</summary>
    private bool FinishStep(StepContext step, Stopwatch trainTime)
    {
        Optimizer.Step();
        trainTime.Stop();
        State.Step++;
        State.EpochLossSum += step.Loss * step.Samples;
        State.EpochSamples += step.Samples;
        if (Evaluator is { } evaluate && EvaluateEvery > 0 && State.Step % EvaluateEvery == 0) step.Evaluation = evaluate(Model);
        RunStepEnd(step);
        return true;
    }

    /// <summary>
    /// One step on <paramref name="batch"/> cut into parts: <see cref="MicroBatches"/> per rank, ranks taking
    /// consecutive shares. Each local part runs forward and backward; gradients are weighted by the part's
    /// share of the batch and summed in part order, then over ranks. The parts see the step's loss (the
    /// batch's weighted mean over every part and rank) after the backward passes, so a fault guard decides
    /// the same on every rank.
    /// </summary>
    private bool RunPartitionedStep(TBatch batch, Stopwatch trainTime)
    {
        var step = _step;
        var splitter = Splitter!;
        int ranks = DataParallel?.Size ?? 1, rank = DataParallel?.Rank ?? 0;
        int parts = ranks * MicroBatches;
        int total = splitter.Count(batch);
        trainTime.Start();
        step.Begin(State.Step + 1, State.Epoch, ApplyLearningRates());
        RunStepStart(step);
        Optimizer.ZeroGrad();
        // Per-step sums, in double: weighted loss, samples, correct, scored, non-finite local losses, stop requests.
        Span<double> stats = stackalloc double[6];
        var parameters = Optimizer.Parameters;
        bool accumulate = MicroBatches > 1;
        if (accumulate) EnsureAccumulators(parameters);
        foreach (var d in _deferred) d.Begin(MicroBatches);
        // Without micro-batches the rank's one part is reduced during its backward pass; with them, after the last.
        bool reduceInPass = DataParallel is not null && !accumulate;
        Reducer?.Begin();
        for (int m = 0; m < MicroBatches; m++)
        {
            int part = rank * MicroBatches + m;
            int start = (int)((long)total * part / parts), end = (int)((long)total * (part + 1) / parts);
            int count = end - start;
            if (count == 0)
            {
                foreach (var d in _deferred) d.SkipPart();
                continue;
            }
            float weight = parts == 1 ? 1f : (float)count / total;
            Tape.Current.Reset();
            var output = _loss(Model, splitter.Slice(batch, start, count));
            if (output.Loss is null) throw new InvalidValueException("loss", "Trainer: the loss function returned no loss variable.");
            double loss = output.Loss.Item();
            stats[0] += weight * loss;
            stats[1] += output.Samples;
            stats[2] += output.Correct;
            stats[3] += output.Scored;
            if (!double.IsFinite(loss)) stats[4] += 1;
            // Each part's gradient is that of its share of the batch's mean loss, so sums over parts and ranks
            // need no scaling afterwards (and layers that sum over ranks, SyncBatchNorm, see global units).
            Backpropagate(step, output.Loss, reduce: reduceInPass, seed: weight);
            if (accumulate) Accumulate(parameters, m == 0);
        }
        if (accumulate) RestoreAccumulated(parameters);
        foreach (var d in _deferred) d.Apply(DataParallel?.Communicator);
        if (DataParallel is { } dp)
        {
            Reducer!.Finish();
            if (_cancel.IsCancellationRequested) stats[5] = 1;
            long statsStart = Stopwatch.GetTimestamp();
            ReduceStatistics(dp, stats);
            dp.LastStep = new Distributed.DataParallelStatistics(Reducer.CommunicationTime + Stopwatch.GetElapsedTime(statsStart), Reducer.BytesPerStep, Reducer.BucketCount);
        }
        step.Loss = stats[4] > 0 ? double.NaN : stats[0];
        step.Samples = (int)stats[1];
        step.Correct = (int)stats[2];
        step.Scored = (int)stats[3];
        RunLoss(step);
        if (!step.Skipped && StopReason is null) RunBackward(step);
        bool done = false;
        if (step.Skipped || StopReason is not null) trainTime.Stop();
        else done = FinishStep(step, trainTime);
        // A stop asked for on any rank ends every rank after this same step (which completes, so no batch is lost).
        if (stats[5] > 0) RequestStop(FitResult.Interrupted, diverged: false);
        return done;
    }

    private Tensors.Tensor[]? _accumulators;
    private CancellationToken _cancel;

    private void EnsureAccumulators(IReadOnlyList<Variable> parameters)
    {
        if (_accumulators is not null && _accumulators.Length == parameters.Count) return;
        _accumulators = parameters.Select(p => Tensors.Tensor.Zeros(p.Value.Shape)).ToArray();
        _accumulated = new bool[parameters.Count];
    }

    private bool[] _accumulated = [];

    /// <summary>Adds this micro-batch's gradients to the sums (in micro-batch order), and clears them for the next one.</summary>
    private void Accumulate(IReadOnlyList<Variable> parameters, bool first)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var acc = _accumulators![i].Span;
            if (first) _accumulated[i] = false;
            if (!p.HasGrad) continue;
            var g = p.Grad!.Span;
            if (!_accumulated[i])
            {
                g.CopyTo(acc);
                _accumulated[i] = true;
            }
            else Kernels.ElementwiseKernels.AddInPlace(acc, g);
            p.ZeroGrad();
        }
    }

    private void RestoreAccumulated(IReadOnlyList<Variable> parameters)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!_accumulated[i]) continue;
            var p = parameters[i];
            _accumulators![i].Span.CopyTo(p.Grad!.Span);
            p.HasGrad = true;
        }
    }

    /// <summary>Sums the step's statistics over ranks (in rank order when the run asks for it).</summary>
    private static void ReduceStatistics(Distributed.DataParallel dp, Span<double> stats)
    {
        if (dp.Order == Distributed.ReductionOrder.Native)
        {
            dp.Communicator.AllReduceSum(stats);
            return;
        }
        var all = new double[stats.Length * dp.Size];
        dp.Communicator.AllGather(stats, all);
        for (int i = 0; i < stats.Length; i++)
        {
            double sum = all[i];
            for (int r = 1; r < dp.Size; r++) sum += all[r * stats.Length + i];
            stats[i] = sum;
        }
    }
}
