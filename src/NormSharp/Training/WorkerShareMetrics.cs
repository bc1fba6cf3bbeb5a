using NormSharp.Threading;

namespace NormSharp.Training;

/// <summary>
/// A metrics column, <c>worker_share</c>: the share of each step's parallel chunks that <see cref="ParallelFor"/>'s
/// workers ran (<see cref="PoolChunkCounts.WorkerShare"/>; empty for a step that handed none to the pool). A step
/// that slows down while its worker share falls to zero ran on one core because the machine did not give the
/// process its others, not because its arithmetic got slower. Add it to the trainer and pass it to
/// <see cref="MetricsCsvLogger"/> as extra metrics.
/// </summary>
public sealed class WorkerShareMetrics : ITrainerCallback, IStepMetrics
{
    private PoolChunkCounts _start;

    /// <inheritdoc />
    public IReadOnlyList<string> Columns { get; } = ["worker_share"];

    /// <inheritdoc />
    public void OnStepStart(StepContext step) => _start = ParallelFor.PoolChunks;

    /// <inheritdoc />
    public void Measure(StepContext step, Span<double> values) => values[0] = ParallelFor.PoolChunks.Since(_start).WorkerShare;
}
