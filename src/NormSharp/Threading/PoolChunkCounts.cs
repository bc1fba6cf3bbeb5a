namespace NormSharp.Threading;

/// <summary>
/// Chunks of parallel loops handed to <see cref="ParallelFor"/>'s worker pool since the process started, and how many
/// of them the workers ran. The calling thread runs the rest: the chunks no worker took in time, because the workers
/// were busy, asleep, or kept off their cores by other work. On a machine that gives the process all its cores,
/// the workers' share of a loop on n threads is near (n − 1)/n; a share near zero means the process ran on one core.
/// </summary>
/// <param name="Offered">Chunks of loops run through the pool.</param>
/// <param name="RunByWorkers">Of those, the chunks a worker ran.</param>
public readonly record struct PoolChunkCounts(long Offered, long RunByWorkers)
{
    /// <summary>The counts between an earlier reading and this one.</summary>
    public PoolChunkCounts Since(PoolChunkCounts earlier) => new(Offered - earlier.Offered, RunByWorkers - earlier.RunByWorkers);

    /// <summary>The workers' share of the offered chunks, or NaN when none were offered.</summary>
    public double WorkerShare => Offered > 0 ? (double)RunByWorkers / Offered : double.NaN;
}
