using System.Diagnostics;

namespace NormSharp.Distributed;

/// <summary>
/// An <see cref="ICommunicator"/> that counts what goes through another one: bytes each rank contributes to
/// collectives and the wall time spent in them (a non-blocking all-reduce counts from its start to its wait).
/// It measures all communication of a data-parallel run: the gradient all-reduce and the statistics of
/// <c>SyncBatchNorm</c> layers alike.
/// </summary>
public sealed class MeteredCommunicator(ICommunicator inner) : ICommunicator
{
    private long _bytes;
    private long _ticks;

    /// <summary>The communicator measured.</summary>
    public ICommunicator Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>Bytes this rank contributed to collectives since the last <see cref="Reset"/>.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Wall time spent in collectives since the last <see cref="Reset"/>.</summary>
    public TimeSpan Time => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks));

    /// <summary>Starts counting afresh (a trainer part does it at each step's start).</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _bytes, 0);
        Interlocked.Exchange(ref _ticks, 0);
    }

    /// <inheritdoc />
    public int Rank => Inner.Rank;

    /// <inheritdoc />
    public int Size => Inner.Size;

    /// <inheritdoc />
    public void AllReduceSum(Span<float> data)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.AllReduceSum(data);
        Count(data.Length * sizeof(float), t);
    }

    /// <inheritdoc />
    public void AllReduceSum(Span<double> data)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.AllReduceSum(data);
        Count(data.Length * sizeof(double), t);
    }

    /// <inheritdoc />
    public ICommunicationRequest StartAllReduceSum(Memory<float> data)
    {
        long t = Stopwatch.GetTimestamp();
        var request = Inner.StartAllReduceSum(data);
        Count(data.Length * sizeof(float), t);
        return new MeteredRequest(this, request);
    }

    /// <inheritdoc />
    public void Broadcast(Span<float> data, int root)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.Broadcast(data, root);
        Count(data.Length * sizeof(float), t);
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.Broadcast(data, root);
        Count(data.Length, t);
    }

    /// <inheritdoc />
    public void AllGather(ReadOnlySpan<float> local, Span<float> all)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.AllGather(local, all);
        Count(local.Length * sizeof(float), t);
    }

    /// <inheritdoc />
    public void AllGather(ReadOnlySpan<double> local, Span<double> all)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.AllGather(local, all);
        Count(local.Length * sizeof(double), t);
    }

    /// <inheritdoc />
    public void Barrier()
    {
        long t = Stopwatch.GetTimestamp();
        Inner.Barrier();
        Count(0, t);
    }

    /// <inheritdoc />
    public void Abort(int exitCode) => Inner.Abort(exitCode);

    /// <summary>Disposes the communicator measured.</summary>
    public void Dispose() => Inner.Dispose();

    private void Count(long bytes, long startTimestamp)
    {
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - startTimestamp);
    }

    private sealed class MeteredRequest(MeteredCommunicator owner, ICommunicationRequest inner) : ICommunicationRequest
    {
        public void Wait()
        {
            long t = Stopwatch.GetTimestamp();
            inner.Wait();
            owner.Count(0, t);
        }

        public bool Test()
        {
            long t = Stopwatch.GetTimestamp();
            bool done = inner.Test();
            owner.Count(0, t);
            return done;
        }
    }
}
