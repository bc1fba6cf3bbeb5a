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
        int skip = BeginFit(source, epochs, source.BatchesPerEpoch);
        for (int i = 0; i < skip; i++)
            if (!source.TryGetNext(out _))
                throw new InvalidValueException(nameof(source), $"Trainer.Fit: the checkpoint had used {skip} batches of its epoch, but the source's epoch ends after {i}; is it the same data?");
        var trainTime = new Stopwatch();
        long samples = 0;
        while (true)
        {
            if (cancel.IsCancellationRequested) RequestStop(FitResult.Interrupted, diverged: false);
            if (StopReason is not null || State.Epoch >= epochs) break;
            if (!source.TryGetNext(out var batch))
            {
                EndEpoch();
                continue;
            }
            State.BatchesIntoEpoch++;
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
        Optimizer.Step();
        trainTime.Stop();
        State.Step++;
        State.EpochLossSum += step.Loss * step.Samples;
        State.EpochSamples += step.Samples;
        if (Evaluator is { } evaluate && EvaluateEvery > 0 && State.Step % EvaluateEvery == 0) step.Evaluation = evaluate(Model);
        RunStepEnd(step);
        return true;
    }
}
