namespace NormSharp.Distributed;

/// <summary>
/// The collective operations data-parallel training needs, across the processes of one job (ranks).
/// Every rank must call each collective in the same order with the same sizes.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index, 0 to <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes in the job.</summary>
    int Size { get; }

    /// <summary>Replaces <paramref name="data"/> on every rank by the elementwise sum over all ranks.</summary>
    void AllReduceSum(Span<float> data);

    /// <summary>Replaces <paramref name="data"/> on every rank by the elementwise sum over all ranks (double precision).</summary>
    void AllReduceSum(Span<double> data);

    /// <summary>
    /// Starts <see cref="AllReduceSum(Span{float})"/> on <paramref name="data"/> without waiting; the buffer must not
    /// be touched until the returned request completes (<see cref="ICommunicationRequest.Wait"/>).
    /// </summary>
    ICommunicationRequest StartAllReduceSum(Memory<float> data);

    /// <summary>Replaces <paramref name="data"/> on every rank by the values of rank <paramref name="root"/>.</summary>
    void Broadcast(Span<float> data, int root);

    /// <summary>Replaces <paramref name="data"/> on every rank by the bytes of rank <paramref name="root"/>.</summary>
    void Broadcast(Span<byte> data, int root);

    /// <summary>Gathers each rank's <paramref name="local"/> (equal lengths) into <paramref name="all"/>, rank 0's first, on every rank.</summary>
    void AllGather(ReadOnlySpan<float> local, Span<float> all);

    /// <summary>Gathers each rank's <paramref name="local"/> (equal lengths) into <paramref name="all"/>, rank 0's first, on every rank.</summary>
    void AllGather(ReadOnlySpan<double> local, Span<double> all);

    /// <summary>Waits until every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every process of the job with <paramref name="exitCode"/> (after a fault on this rank, so that no other rank waits for it forever).</summary>
    void Abort(int exitCode);
}

/// <summary>A collective started by <see cref="ICommunicator.StartAllReduceSum"/>.</summary>
public interface ICommunicationRequest
{
    /// <summary>Blocks until the collective is complete on this rank.</summary>
    void Wait();

    /// <summary>True once complete (lets the library make progress without blocking).</summary>
    bool Test();
}
