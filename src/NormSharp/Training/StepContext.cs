using System.Diagnostics;

namespace NormSharp.Training;

/// <summary>
/// What the parts of the loop see of the step in progress. One instance is reused for every step, so a
/// part must not keep it beyond the call.
/// </summary>
public sealed class StepContext
{
    internal StepContext(Trainer trainer) => Trainer = trainer;

    /// <summary>The trainer running the step.</summary>
    public Trainer Trainer { get; }

    /// <summary>The 1-based number of this step (<see cref="TrainerState.Step"/> + 1 until the update, equal after it).</summary>
    public long Step { get; internal set; }

    /// <summary>The 0-based epoch the step belongs to.</summary>
    public int Epoch { get; internal set; }

    /// <summary>The loss of this step (known from <see cref="ITrainerCallback.OnLoss"/> on).</summary>
    public double Loss { get; internal set; }

    /// <summary>Samples in this step's batch, as the loss function reported.</summary>
    public int Samples { get; internal set; }

    /// <summary>Units the model got right in this batch.</summary>
    public int Correct { get; internal set; }

    /// <summary>Units scored in this batch (0: the loss function reports no accuracy).</summary>
    public int Scored { get; internal set; }

    /// <summary>Accuracy of this batch, Correct / max(1, Scored).</summary>
    public double Accuracy => (double)Correct / Math.Max(1, Scored);

    /// <summary>The learning rate of the optimizer's first group in this step.</summary>
    public double LearningRate { get; internal set; }

    /// <summary>Gradient norms of this step, measured once on first use (after the backward pass, before clipping).</summary>
    public GradientNorms Gradients => Trainer.Gradients;

    /// <summary>The held-out evaluation made after this step, or null when none was due.</summary>
    public EvaluationResult? Evaluation { get; internal set; }

    /// <summary><see cref="Stopwatch"/> timestamp of the step's start.</summary>
    public long StartTimestamp { get; internal set; }

    /// <summary>Wall time since the step started.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(StartTimestamp);

    /// <summary>
    /// Milliseconds of CPU time the training thread has used since the step began (NaN where the clock is
    /// unavailable): unlike <see cref="Elapsed"/>, barely stretched when other work on the machine takes the core.
    /// </summary>
    public double CpuMilliseconds => (Threading.ThreadCpuTime.Seconds() - _startCpuSeconds) * 1000;

    private double _startCpuSeconds;

    /// <summary>True once a part abandoned this step.</summary>
    public bool Skipped { get; private set; }

    /// <summary>Abandons this step: no optimizer update, the step does not count. Allowed in <see cref="ITrainerCallback.OnLoss"/> and <see cref="ITrainerCallback.OnBackward"/>.</summary>
    public void SkipStep() => Skipped = true;

    internal void Begin(long step, int epoch, double learningRate)
    {
        Step = step;
        Epoch = epoch;
        LearningRate = learningRate;
        Loss = double.NaN;
        Samples = Correct = Scored = 0;
        Evaluation = null;
        Skipped = false;
        StartTimestamp = Stopwatch.GetTimestamp();
        _startCpuSeconds = Threading.ThreadCpuTime.Seconds();
    }
}
