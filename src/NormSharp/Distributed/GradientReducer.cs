using NormSharp.Autograd;
using NormSharp.Kernels;

namespace NormSharp.Distributed;

/// <summary>
/// Sums the parameters' gradients over the ranks of a <see cref="DataParallel"/> run. Gradients (already in
/// units of the global batch's loss) are copied into flat buckets, one float more per parameter saying whether it
/// received a gradient; a bucket's all-reduce starts as soon as its parameters are final in the backward
/// pass, so communication overlaps the rest of the pass. Buckets are started strictly in bucket order, so
/// every rank issues the same collectives in the same order even when readiness differs.
/// </summary>
internal sealed class GradientReducer
{
    private readonly DataParallel _dp;
    private readonly Bucket[] _buckets;
    private readonly Dictionary<Variable, (int Bucket, int Slot)> _slots = new(ReferenceEqualityComparer.Instance);
    private int _nextToStart;

    /// <summary>Lays the <paramref name="parameters"/> out in buckets, last parameter first (the backward pass makes those final first).</summary>
    public GradientReducer(DataParallel dp, IReadOnlyList<Variable> parameters)
    {
        _dp = dp;
        int bucketFloats = Math.Max(1, dp.BucketBytes / sizeof(float));
        var buckets = new List<Bucket>();
        var current = new List<Variable>();
        long size = 0;
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            var p = parameters[i];
            if (current.Count > 0 && size + p.Value.Length > bucketFloats)
            {
                buckets.Add(new Bucket(current.ToArray()));
                current.Clear();
                size = 0;
            }
            current.Add(p);
            size += p.Value.Length;
        }
        if (current.Count > 0) buckets.Add(new Bucket(current.ToArray()));
        _buckets = buckets.ToArray();
        for (int b = 0; b < _buckets.Length; b++)
            for (int s = 0; s < _buckets[b].Parameters.Length; s++) _slots[_buckets[b].Parameters[s]] = (b, s);
    }

    /// <summary>Number of buckets.</summary>
    public int BucketCount => _buckets.Length;

    /// <summary>Bytes sent per step (gradient values and flags).</summary>
    public long BytesPerStep => _buckets.Sum(b => (long)b.Buffer.Length * sizeof(float));

    /// <summary>Time spent waiting for communication in the last <see cref="Finish"/>, and in starting collectives during the pass.</summary>
    public TimeSpan CommunicationTime { get; private set; }

    /// <summary>Starts a step: nothing is ready yet.</summary>
    public void Begin()
    {
        _nextToStart = 0;
        CommunicationTime = TimeSpan.Zero;
        foreach (var b in _buckets) b.Reset();
    }

    /// <summary>Takes <paramref name="parameter"/>'s final local gradient; starts every bucket that is complete and next in order.</summary>
    public void OnGradientReady(Variable parameter)
    {
        if (!_slots.TryGetValue(parameter, out var where)) return;
        var bucket = _buckets[where.Bucket];
        if (bucket.Filled[where.Slot]) return;
        bucket.Fill(where.Slot, parameter);
        StartReady();
    }

    /// <summary>
    /// Completes the reduction: buckets still missing gradients (parameters that received none on this rank)
    /// send zeros for them; waits for every bucket, then writes the sums back. A parameter gets a gradient
    /// (HasGrad) on every rank when any rank gave it one.
    /// </summary>
    public void Finish()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        foreach (var b in _buckets)
            for (int s = 0; s < b.Parameters.Length; s++)
                if (!b.Filled[s])
                {
                    var p = b.Parameters[s];
                    if (p.HasGrad) b.Fill(s, p);
                    else b.FillEmpty(s);
                }
        StartReady();
        foreach (var b in _buckets) b.Complete(_dp);
        foreach (var b in _buckets) b.WriteBack();
        CommunicationTime += sw.Elapsed;
    }

    private void StartReady()
    {
        while (_nextToStart < _buckets.Length && _buckets[_nextToStart].IsComplete)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            _buckets[_nextToStart++].Start(_dp);
            CommunicationTime += sw.Elapsed;
        }
    }

    private sealed class Bucket
    {
        private readonly int[] _offsets;
        private readonly int _flags;
        private int _filledCount;
        private ICommunicationRequest? _request;
        private float[]? _gathered;

        public Bucket(Variable[] parameters)
        {
            Parameters = parameters;
            _offsets = new int[parameters.Length];
            int offset = 0;
            for (int i = 0; i < parameters.Length; i++)
            {
                _offsets[i] = offset;
                offset += parameters[i].Value.Length;
            }
            _flags = offset;
            Buffer = new float[offset + parameters.Length];
            Filled = new bool[parameters.Length];
        }

        public Variable[] Parameters { get; }

        public float[] Buffer { get; }

        public bool[] Filled { get; }

        public bool IsComplete => _filledCount == Parameters.Length;

        public void Reset()
        {
            Array.Clear(Filled);
            _filledCount = 0;
            _request = null;
        }

        public void Fill(int slot, Variable p)
        {
            p.Grad!.Span.CopyTo(Buffer.AsSpan(_offsets[slot], p.Value.Length));
            Buffer[_flags + slot] = 1f;
            Filled[slot] = true;
            _filledCount++;
        }

        public void FillEmpty(int slot)
        {
            Buffer.AsSpan(_offsets[slot], Parameters[slot].Value.Length).Clear();
            Buffer[_flags + slot] = 0f;
            Filled[slot] = true;
            _filledCount++;
        }

        public void Start(DataParallel dp)
        {
            if (dp.Order == ReductionOrder.Native)
            {
                _request = dp.Communicator.StartAllReduceSum(Buffer);
                return;
            }
            // Rank order: gather every rank's bucket, then add in rank order (same sum as sequential micro-batches).
            int n = dp.Size;
            if (_gathered is null || _gathered.Length != Buffer.Length * n) _gathered = new float[Buffer.Length * n];
            dp.Communicator.AllGather(Buffer, _gathered);
            var sum = Buffer.AsSpan();
            _gathered.AsSpan(0, Buffer.Length).CopyTo(sum);
            for (int r = 1; r < n; r++) ElementwiseKernels.AddInPlace(sum, _gathered.AsSpan(r * Buffer.Length, Buffer.Length));
        }

        public void Complete(DataParallel dp)
        {
            _request?.Wait();
            _request = null;
        }

        public void WriteBack()
        {
            for (int i = 0; i < Parameters.Length; i++)
            {
                var p = Parameters[i];
                if (Buffer[_flags + i] > 0f)
                {
                    Buffer.AsSpan(_offsets[i], p.Value.Length).CopyTo(p.Grad!.Span);
                    p.HasGrad = true;
                }
            }
        }
    }
}
