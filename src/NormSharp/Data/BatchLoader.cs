using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Data;

/// <summary>
/// Hands out mini-batches of a <see cref="Dataset"/> in a fresh random order each epoch (or in order),
/// optionally standardized, into buffers it owns, so a steady-state epoch allocates nothing. The order of
/// epoch e depends only on the seed and e, so a <see cref="LoaderState"/> is enough to resume: it is a
/// resumable batch source for the <see cref="Training.Trainer{TBatch}"/>. It alternates between two sets
/// of buffers, so the previous batch stays intact while the next is fetched; a <see cref="LabeledBatch"/>
/// older than that throws when read.
/// </summary>
public sealed class BatchLoader : Training.IBatchSource<LabeledBatch>, Training.ICheckpointState
{
    private readonly Dataset _data;
    private readonly ulong _seed;
    private readonly bool _shuffle;
    private readonly int[] _order;
    private readonly BufferSet[] _buffers;
    private readonly float _shift, _scale;
    private int _orderEpoch = -1;
    private int _turn;

    /// <summary>One set of batch buffers: a full batch, its partial-batch view, their labels, and a version that changes on each reuse.</summary>
    internal sealed class BufferSet(Tensor full, int[] fullLabels, Tensor? partial, int[]? partialLabels)
    {
        public Tensor Full { get; } = full;
        public int[] FullLabels { get; } = fullLabels;
        public Tensor? Partial { get; } = partial;
        public int[]? PartialLabels { get; } = partialLabels;
        public int Version { get; set; }
    }

    /// <summary>Creates the loader. With <paramref name="standardization"/>, features become (x − mean)/std with the given statistics.</summary>
    public BatchLoader(Dataset data, int batchSize, ulong seed, bool shuffle = true, bool dropLast = false, (float Mean, float Std)? standardization = null)
    {
        if (batchSize <= 0) throw new InvalidValueException(nameof(batchSize), $"BatchLoader: batch size must be positive, got {batchSize}.");
        if (data.Count == 0) throw new InvalidValueException(nameof(data), $"BatchLoader: dataset {data.Name} is empty.");
        _data = data;
        _seed = seed;
        _shuffle = shuffle;
        BatchSize = batchSize;
        DropLast = dropLast;
        _order = Enumerable.Range(0, data.Count).ToArray();
        int rest = data.Count % batchSize;
        _buffers = new BufferSet[2];
        for (int b = 0; b < _buffers.Length; b++)
        {
            var full = Tensor.Zeros(batchSize, data.Features);
            bool partial = rest != 0 && !DropLast;
            _buffers[b] = new BufferSet(full, new int[batchSize], partial ? full.Narrow(0, rest) : null, partial ? new int[rest] : null);
        }
        if (standardization is { } s)
        {
            if (!(s.Std > 0)) throw new InvalidValueException(nameof(standardization), $"BatchLoader: standard deviation must be positive, got {s.Std}.");
            _shift = s.Mean;
            _scale = 1f / s.Std;
        }
        else
        {
            _shift = 0f;
            _scale = 1f;
        }
        Labels = _buffers[0].FullLabels;
        Batch = _buffers[0].Full;
    }

    /// <summary>Samples per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => DropLast ? _data.Count / BatchSize : (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>The current epoch (0-based).</summary>
    public int Epoch { get; private set; }

    /// <summary>Samples of the current epoch already handed out.</summary>
    public int Position { get; private set; }

    /// <summary>The current batch's features, [count, features]; unchanged by the next <see cref="Next"/>, overwritten by the one after.</summary>
    public Tensor Batch { get; private set; }

    /// <summary>The current batch's labels (its length is the batch's count).</summary>
    public int[] Labels { get; private set; }

    /// <summary>The current batch, checked: reading it after its buffers were reused throws.</summary>
    public LabeledBatch Current { get; private set; }

    int? Training.IBatchSource<LabeledBatch>.BatchesPerEpoch => BatchesPerEpoch;

    /// <inheritdoc />
    public bool TryGetNext(out LabeledBatch batch)
    {
        bool more = Next();
        batch = more ? Current : default;
        return more;
    }

    /// <summary>Samples in the current batch.</summary>
    public int Count { get; private set; }

    /// <summary>The global mean and standard deviation of a dataset's features, for standardization.</summary>
    public static (float Mean, float Std) Statistics(Dataset data)
    {
        double s = 0, s2 = 0;
        foreach (float v in data.Images.Span)
        {
            s += v;
            s2 += (double)v * v;
        }
        long n = data.Images.Length;
        double mean = s / n;
        double std = Math.Sqrt(Math.Max(s2 / n - mean * mean, 1e-12));
        return ((float)mean, (float)std);
    }

    /// <summary>Fills the next batch of the current epoch; false when the epoch is over (the next call starts the next epoch).</summary>
    public bool Next()
    {
        int remaining = _data.Count - Position;
        if (remaining <= 0 || (DropLast && remaining < BatchSize))
        {
            Epoch++;
            Position = 0;
            return false;
        }
        EnsureOrder();
        int count = Math.Min(BatchSize, remaining);
        bool partial = count < BatchSize;
        _turn ^= 1;
        var set = _buffers[_turn];
        set.Version++;
        Batch = partial ? set.Partial! : set.Full;
        Labels = partial ? set.PartialLabels! : set.FullLabels;
        int features = _data.Features;
        var src = _data.Images.Span;
        // Variables made from the previous batch must not silently see this one.
        Batch.MarkModified();
        var dst = Batch.Span;
        for (int i = 0; i < count; i++)
        {
            int idx = _order[Position + i];
            var from = src.Slice(idx * features, features);
            var to = dst.Slice(i * features, features);
            if (_scale == 1f && _shift == 0f) from.CopyTo(to);
            else
                for (int f = 0; f < features; f++) to[f] = (from[f] - _shift) * _scale;
            Labels[i] = _data.Labels[idx];
        }
        Count = count;
        Position += count;
        Current = new LabeledBatch(set, set.Version, Batch, Labels);
        return true;
    }

    /// <summary>Where the loader stands.</summary>
    public LoaderState GetState() => new(Epoch, Position);

    /// <summary>Continues from a state returned by <see cref="GetState"/>.</summary>
    public void SetState(LoaderState state)
    {
        if (state.Epoch < 0 || state.Position < 0 || state.Position > _data.Count)
            throw new InvalidValueException(nameof(state), $"BatchLoader: state epoch {state.Epoch}, position {state.Position} does not fit a dataset of {_data.Count}.");
        Epoch = state.Epoch;
        Position = state.Position;
    }

    /// <summary>Checkpoint key of the loader's position.</summary>
    public string StateKey => "loader";

    /// <inheritdoc />
    public string SaveState() => System.Text.Json.JsonSerializer.Serialize(GetState());

    /// <inheritdoc />
    public void LoadState(string state) => SetState(LoaderState.Parse(state, "BatchLoader"));

    private void EnsureOrder()
    {
        if (_orderEpoch == Epoch) return;
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        // Each epoch's order comes from its own generator, so it depends on the seed and the epoch alone.
        if (_shuffle) new Rng(_seed * 0x9E3779B97F4A7C15UL + (ulong)Epoch + 1).Shuffle(_order.AsSpan());
        _orderEpoch = Epoch;
    }
}
