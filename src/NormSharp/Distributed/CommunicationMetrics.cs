using NormSharp.Training;

namespace NormSharp.Distributed;

/// <summary>
/// A trainer part for data-parallel runs that adds each step's communication to the metrics log: columns
/// <c>comm_ms</c> (wall time in collectives) and <c>comm_bytes</c> (bytes this rank contributed), counted by a
/// <see cref="MeteredCommunicator"/> that the run's <see cref="DataParallel"/> (and any SyncBatchNorm) uses.
/// Add it to the trainer and pass it to <see cref="MetricsCsvLogger"/> as extra metrics. Without a meter (one
/// process) it logs zeros, so a run's log keeps the same columns whether it runs, or resumes, on one rank or many.
/// </summary>
public sealed class CommunicationMetrics(MeteredCommunicator? meter) : ITrainerCallback, IStepMetrics
{
    /// <inheritdoc />
    public IReadOnlyList<string> Columns { get; } = ["comm_ms", "comm_bytes"];

    /// <inheritdoc />
    public void OnStepStart(StepContext step) => meter?.Reset();

    /// <inheritdoc />
    public void Measure(StepContext step, Span<double> values)
    {
        values[0] = meter is null ? 0 : meter.Time.TotalMilliseconds;
        values[1] = meter is null ? 0 : meter.Bytes;
    }
}
