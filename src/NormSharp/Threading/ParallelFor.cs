using System.Diagnostics;

namespace NormSharp.Threading;

/// <summary>
/// Splits a loop over the cores with a persistent pool of spinning workers, because a training step
/// calls thousands of small kernels and <c>Parallel.For</c>'s start-up cost would dominate them.
/// Chunk boundaries depend only on the item count, the grain and <see cref="MaxThreads"/>, never on
/// timing, so per-chunk partial sums reduce to the same bits on every run.
/// </summary>
public static class ParallelFor
{
    private static int _maxThreads = Environment.ProcessorCount;
    private static readonly object DispatchLock = new();
    private static WorkerPool? _pool;

    [ThreadStatic] private static bool _insideParallelRegion;

    /// <summary>Threads a parallel loop may use, the calling thread included (default: the processor count).</summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set
        {
            if (value < 1) throw new Errors.InvalidValueException(nameof(MaxThreads), $"MaxThreads must be at least 1, got {value}.");
            _maxThreads = value;
        }
    }

    /// <summary>Number of chunks a loop over <paramref name="count"/> items with <paramref name="grain"/> items at least per chunk is split into.</summary>
    public static int ChunkCount(int count, int grain)
    {
        if (count <= 0) return 0;
        grain = Math.Max(1, grain);
        long byGrain = ((long)count + grain - 1) / grain;
        return (int)Math.Min(byGrain, _maxThreads);
    }

    /// <summary>Start of chunk <paramref name="chunk"/> of <paramref name="chunks"/> over <paramref name="count"/> items.</summary>
    public static int ChunkStart(int count, int chunks, int chunk) => (int)((long)count * chunk / chunks);

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) split into <see cref="ChunkCount"/> chunks.
    /// Small loops, nested calls and calls made while another thread holds the pool run on the calling thread,
    /// chunk by chunk in order, so the result is the same either way.
    /// </summary>
    public static void Run<TBody>(int count, int grain, ref TBody body) where TBody : struct, IParallelBody =>
        RunChunks(count, ChunkCount(count, grain), ref body);

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in exactly <paramref name="chunks"/> chunks.
    /// Kernels that size per-chunk buffers call <see cref="ChunkCount"/> once and pass the result here, so a
    /// change of <see cref="MaxThreads"/> on another thread cannot change the split under them.
    /// </summary>
    public static void RunChunks<TBody>(int count, int chunks, ref TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 0 || chunks <= 0) return;
        chunks = Math.Min(chunks, count);
        if (chunks == 1)
        {
            body.Execute(0, 0, count);
            return;
        }
        if (_insideParallelRegion || !Monitor.TryEnter(DispatchLock))
        {
            RunInline(count, chunks, ref body);
            return;
        }
        try
        {
            _pool ??= new WorkerPool(Environment.ProcessorCount - 1);
            if (_pool.WorkerCount == 0)
            {
                RunInline(count, chunks, ref body);
                return;
            }
            var box = Box<TBody>.Instance;
            box.Body = body;
            box.Count = count;
            box.Chunks = chunks;
            _insideParallelRegion = true;
            try { _pool.Run(box, chunks); }
            finally
            {
                _insideParallelRegion = false;
                body = box.Body;
                box.Body = default;
            }
        }
        finally { Monitor.Exit(DispatchLock); }
    }

    private static void RunInline<TBody>(int count, int chunks, ref TBody body) where TBody : struct, IParallelBody
    {
        for (int c = 0; c < chunks; c++)
            body.Execute(c, ChunkStart(count, chunks, c), ChunkStart(count, chunks, c + 1));
    }

    internal interface IChunkRunner
    {
        void RunChunk(int chunk);
    }

    private sealed class Box<TBody> : IChunkRunner where TBody : struct, IParallelBody
    {
        public static readonly Box<TBody> Instance = new();
        public TBody Body;
        public int Count;
        public int Chunks;

        public void RunChunk(int chunk) =>
            Body.Execute(chunk, ChunkStart(Count, Chunks, chunk), ChunkStart(Count, Chunks, chunk + 1));
    }

    /// <summary>
    /// Background threads that spin briefly between jobs, then sleep until woken. A worker that wakes for a
    /// job checks in, takes chunks while any are left, and checks out. The dispatcher works through the
    /// chunks itself too, then closes the job and waits only for workers that checked in; a worker that was
    /// not scheduled in time (another process holds the core) finds the job closed and leaves it alone, so
    /// an oversubscribed machine slows a job down to one thread's speed rather than to the scheduler's.
    /// </summary>
    private sealed class WorkerPool
    {
        private readonly Worker[] _workers;
        private IChunkRunner? _job;
        private int _chunks;
        private int _nextChunk;
        private int _active;
        private int _generation;
        private int _closedGeneration;
        private Exception? _failure;
        private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

        public int WorkerCount => _workers.Length;

        public WorkerPool(int workers)
        {
            _workers = new Worker[Math.Max(0, workers)];
            for (int i = 0; i < _workers.Length; i++)
            {
                _workers[i] = new Worker();
                var w = _workers[i];
                var t = new Thread(() => WorkerLoop(w)) { IsBackground = true, Name = $"NormSharp worker {i + 1}" };
                t.Start();
            }
        }

        public void Run(IChunkRunner job, int chunks)
        {
            _job = job;
            _chunks = chunks;
            _failure = null;
            Volatile.Write(ref _nextChunk, 0);
            int generation = Interlocked.Increment(ref _generation);
            foreach (var w in _workers)
                if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();

            DrainChunks(job);
            Volatile.Write(ref _closedGeneration, generation);
            var spin = new SpinWait();
            while (Volatile.Read(ref _active) != 0) spin.SpinOnce(-1);
            _job = null;
            if (_failure is { } f) throw new AggregateException("A parallel kernel failed.", f);
        }

        private void DrainChunks(IChunkRunner job)
        {
            while (true)
            {
                int c = Interlocked.Increment(ref _nextChunk) - 1;
                if (c >= _chunks) return;
                try { job.RunChunk(c); }
                catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            }
        }

        private void WorkerLoop(Worker w)
        {
            _insideParallelRegion = true;
            int seen = 0;
            while (true)
            {
                long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
                while (Volatile.Read(ref _generation) == seen)
                {
                    if (Stopwatch.GetTimestamp() < spinUntil)
                    {
                        Thread.SpinWait(30);
                        continue;
                    }
                    Volatile.Write(ref w.Sleeping, 1);
                    if (Volatile.Read(ref _generation) != seen)
                    {
                        // Work arrived while going to sleep: if the dispatcher already woke us, consume that signal.
                        if (Interlocked.Exchange(ref w.Sleeping, 0) == 0) w.Wake.Wait();
                        break;
                    }
                    w.Wake.Wait();
                    spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
                }
                seen = Volatile.Read(ref _generation);
                Interlocked.Increment(ref _active);
                // Checked in first, then the close is read: the dispatcher cannot return (and reuse the job's
                // state) while a worker that saw the job open is still inside it.
                if (Volatile.Read(ref _closedGeneration) < seen) DrainChunks(_job!);
                Interlocked.Decrement(ref _active);
            }
        }

        private sealed class Worker
        {
            public int Sleeping;
            public readonly SemaphoreSlim Wake = new(0);
        }
    }
}
