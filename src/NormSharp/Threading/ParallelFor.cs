using System.Diagnostics;

namespace NormSharp.Threading;

/// <summary>
/// Splits a loop over the cores with a persistent pool of workers, because a training step calls thousands of
/// small kernels and <c>Parallel.For</c>'s start-up cost would dominate them. How a loop is cut into chunks depends
/// only on the item count and the grain (never on <see cref="MaxThreads"/> or on timing), so per-chunk partial sums
/// added in chunk order give the same bits on any number of threads; threads only decide who runs which chunk.
/// Idle workers spin briefly, then sleep; a caller waiting for a worker that holds a chunk does the same, so a
/// worker that another process keeps off its core costs one chunk's delay, not a core's worth of spinning.
/// </summary>
public static class ParallelFor
{
    /// <summary>
    /// Most chunks a loop is cut into: enough for a busy or shared core's share to be taken up by the others,
    /// few enough that per-chunk partial buffers stay small.
    /// </summary>
    public const int MaxChunks = 64;

    private static int _maxThreads = Environment.ProcessorCount;
    private static readonly object DispatchLock = new();
    private static WorkerPool? _pool;

    [ThreadStatic] private static bool _insideParallelRegion;

    /// <summary>Threads a parallel loop may use, the calling thread included (default: the processor count). Results do not depend on it.</summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set
        {
            if (value < 1) throw new Errors.InvalidValueException(nameof(MaxThreads), $"MaxThreads must be at least 1, got {value}.");
            _maxThreads = value;
        }
    }

    /// <summary>
    /// Chunks handed to the worker pool since the process started, and how many of them the workers ran (loops run
    /// inline on the calling thread, small or nested ones, are not counted).
    /// </summary>
    public static PoolChunkCounts PoolChunks => _pool is { } pool ? pool.Counts : default;

    /// <summary>
    /// Number of chunks a loop over <paramref name="count"/> items with at least <paramref name="grain"/> items per
    /// chunk is cut into: ⌈count / grain⌉, at most <see cref="MaxChunks"/>. It depends on nothing else.
    /// </summary>
    public static int ChunkCount(int count, int grain)
    {
        if (count <= 0) return 0;
        grain = Math.Max(1, grain);
        long byGrain = ((long)count + grain - 1) / grain;
        return (int)Math.Min(byGrain, MaxChunks);
    }

    /// <summary>Start of chunk <paramref name="chunk"/> of <paramref name="chunks"/> over <paramref name="count"/> items.</summary>
    public static int ChunkStart(int count, int chunks, int chunk) => (int)((long)count * chunk / chunks);

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) cut into <see cref="ChunkCount"/> chunks.
    /// Small loops, nested calls and calls made while another thread holds the pool run on the calling thread,
    /// chunk by chunk in order, so the result is the same either way.
    /// </summary>
    public static void Run<TBody>(int count, int grain, ref TBody body) where TBody : struct, IParallelBody =>
        RunChunks(count, ChunkCount(count, grain), ref body);

    /// <summary>Runs <paramref name="body"/> over [0, <paramref name="count"/>) in exactly <paramref name="chunks"/> chunks (at most one per item).</summary>
    public static void RunChunks<TBody>(int count, int chunks, ref TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 0 || chunks <= 0) return;
        chunks = Math.Min(chunks, count);
        int threads = Math.Min(_maxThreads, chunks);
        if (threads == 1 || _insideParallelRegion || !Monitor.TryEnter(DispatchLock))
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
            try { _pool.Run(box, chunks, threads - 1); }
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
    /// Background threads that spin briefly between jobs, then sleep until woken. A worker that wakes for a job
    /// checks in, takes chunks while any are left, and checks out. The dispatcher works through the chunks itself
    /// too, then closes the job and waits only for workers that checked in, first spinning briefly, then blocking
    /// until the last one checks out. A worker that was not scheduled in time (another process holds the core)
    /// finds the job closed and leaves it alone, so an oversubscribed machine slows a job down to one thread's
    /// speed rather than to the scheduler's.
    /// </summary>
    private sealed class WorkerPool
    {
        /// <summary>How long an idle worker spins for the next job before sleeping: a training step's kernels follow each other within microseconds.</summary>
        private static readonly long IdleSpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

        /// <summary>How long the dispatcher spins for checked-in workers before blocking.</summary>
        private static readonly long FinishSpinTicks = Stopwatch.Frequency / 100_000; // 10 µs

        private readonly Worker[] _workers;
        private readonly object _finished = new();
        private IChunkRunner? _job;
        private int _chunks;
        private int _nextChunk;
        private int _active;
        private int _generation;
        private int _closedGeneration;
        private Exception? _failure;
        private long _offered;
        private long _runByWorkers;

        public int WorkerCount => _workers.Length;

        public PoolChunkCounts Counts => new(Volatile.Read(ref _offered), Volatile.Read(ref _runByWorkers));

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

        /// <summary>Runs the job's chunks on this thread and up to <paramref name="helpers"/> workers.</summary>
        public void Run(IChunkRunner job, int chunks, int helpers)
        {
            _job = job;
            _chunks = chunks;
            _failure = null;
            Volatile.Write(ref _nextChunk, 0);
            int generation = Interlocked.Increment(ref _generation);
            for (int i = 0; i < _workers.Length && i < helpers; i++)
            {
                var w = _workers[i];
                Volatile.Write(ref w.Invited, generation);
                if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();
            }

            Interlocked.Add(ref _offered, chunks);
            DrainChunks(job);
            Volatile.Write(ref _closedGeneration, generation);
            WaitForCheckedIn();
            _job = null;
            if (_failure is { } f) throw new AggregateException("A parallel kernel failed.", f);
        }

        private void WaitForCheckedIn()
        {
            if (Volatile.Read(ref _active) == 0) return;
            long until = Stopwatch.GetTimestamp() + FinishSpinTicks;
            while (Stopwatch.GetTimestamp() < until)
            {
                if (Volatile.Read(ref _active) == 0) return;
                Thread.SpinWait(20);
            }
            lock (_finished)
            {
                while (Volatile.Read(ref _active) != 0) Monitor.Wait(_finished);
            }
        }

        /// <summary>Runs chunks until none is left; returns how many this thread ran.</summary>
        private int DrainChunks(IChunkRunner job)
        {
            int ran = 0;
            while (true)
            {
                int c = Interlocked.Increment(ref _nextChunk) - 1;
                if (c >= _chunks) return ran;
                ran++;
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
                long spinUntil = Stopwatch.GetTimestamp() + IdleSpinTicks;
                while (Volatile.Read(ref w.Invited) == seen)
                {
                    if (Stopwatch.GetTimestamp() < spinUntil)
                    {
                        Thread.SpinWait(30);
                        continue;
                    }
                    Volatile.Write(ref w.Sleeping, 1);
                    if (Volatile.Read(ref w.Invited) != seen)
                    {
                        // Work arrived while going to sleep: if the dispatcher already woke us, consume that signal.
                        if (Interlocked.Exchange(ref w.Sleeping, 0) == 0) w.Wake.Wait();
                        break;
                    }
                    w.Wake.Wait();
                    spinUntil = Stopwatch.GetTimestamp() + IdleSpinTicks;
                }
                seen = Volatile.Read(ref w.Invited);
                Interlocked.Increment(ref _active);
                // Checked in first, then the close is read: the dispatcher cannot return (and reuse the job's
                // state) while a worker that saw the job open is still inside it.
                if (Volatile.Read(ref _closedGeneration) < seen)
                {
                    int ran = DrainChunks(_job!);
                    if (ran > 0) Interlocked.Add(ref _runByWorkers, ran);
                }
                if (Interlocked.Decrement(ref _active) == 0)
                {
                    lock (_finished) Monitor.PulseAll(_finished);
                }
            }
        }

        private sealed class Worker
        {
            public int Sleeping;
            public int Invited;
            public readonly SemaphoreSlim Wake = new(0);
        }
    }
}
