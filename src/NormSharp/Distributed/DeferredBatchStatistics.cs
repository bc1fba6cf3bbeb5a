using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Distributed;

/// <summary>
/// Running statistics of <see cref="BatchNorm1d"/> layers in partitioned steps (micro-batches, data-parallel
/// ranks): every part's batch mean and unbiased variance is recorded during its forward pass, then after the
/// step the running statistics are updated once per part in global part order, on every rank alike (ranks
/// exchange their parts' statistics). So N ranks hold exactly the running statistics one process with N
/// micro-batches holds, and every rank holds the same.
/// </summary>
internal sealed class DeferredBatchStatistics
{
    private readonly BatchNorm1d _layer;
    private readonly int _channels;
    private readonly List<double[]> _parts = new();
    private int _recorded;

    private DeferredBatchStatistics(BatchNorm1d layer)
    {
        _layer = layer;
        _channels = layer.NumFeatures;
    }

    /// <summary>Doubles per part: the sample count, the means, the unbiased variances.</summary>
    private int Stride => 1 + 2 * _channels;

    /// <summary>Defers the running statistics of every batch normalization layer of <paramref name="model"/>; null when it has none.</summary>
    public static DeferredBatchStatistics[] Attach(Module model)
    {
        var result = new List<DeferredBatchStatistics>();
        foreach (var (_, m) in model.NamedModules())
            if (m is BatchNorm1d { RunningMean: not null } bn)
            {
                var d = new DeferredBatchStatistics(bn);
                bn.DeferredStatistics = d;
                result.Add(d);
            }
        return result.ToArray();
    }

    /// <summary>Gives the layers back their immediate updates.</summary>
    public static void Detach(DeferredBatchStatistics[] layers)
    {
        foreach (var d in layers) d._layer.DeferredStatistics = null;
    }

    /// <summary>Starts a step of <paramref name="localParts"/> parts on this rank.</summary>
    public void Begin(int localParts)
    {
        while (_parts.Count < localParts) _parts.Add(new double[Stride]);
        for (int i = 0; i < localParts; i++) Array.Clear(_parts[i]);
        _recorded = 0;
        LocalParts = localParts;
    }

    /// <summary>Parts of this rank in the current step.</summary>
    public int LocalParts { get; private set; }

    /// <summary>Marks the next local part as empty (no samples on this rank).</summary>
    public void SkipPart() => _recorded++;

    /// <summary>Records the statistics of <paramref name="x"/> ([N, C] or [N, C, L]) as the next local part's.</summary>
    public void Record(Tensor x, int channels)
    {
        if (_recorded >= LocalParts)
            throw new Errors.NormSharpException($"BatchNorm1d({_channels}) ran in training mode more than once in one micro-batch; a step split into parts (micro-batches, data-parallel ranks) supports one training pass per layer and part.");
        int n = x.Dim(0), l = x.Rank == 3 ? x.Dim(2) : 1;
        long count = (long)n * l;
        var slot = _parts[_recorded++];
        slot[0] = count;
        var s = x.Span;
        for (int c = 0; c < channels; c++)
        {
            // Two passes in double: the variance does not cancel at large means.
            double sum = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < l; j++) sum += s[(i * channels + c) * l + j];
            double mean = sum / count, sq = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < l; j++)
                {
                    double d = s[(i * channels + c) * l + j] - mean;
                    sq += d * d;
                }
            slot[1 + c] = mean;
            slot[1 + channels + c] = count > 1 ? sq / (count - 1) : 0;
        }
    }

    /// <summary>
    /// Applies every part's statistics in global order: this rank's alone, or, with <paramref name="comm"/>,
    /// all ranks' (rank 0's parts first), which every rank then applies alike.
    /// </summary>
    public void Apply(ICommunicator? comm)
    {
        int local = LocalParts, stride = Stride;
        double[] all;
        int parts;
        if (comm is null)
        {
            all = new double[local * stride];
            for (int p = 0; p < local; p++) _parts[p].CopyTo(all, p * stride);
            parts = local;
        }
        else
        {
            var mine = new double[local * stride];
            for (int p = 0; p < local; p++) _parts[p].CopyTo(mine, p * stride);
            all = new double[mine.Length * comm.Size];
            comm.AllGather(mine, all);
            parts = local * comm.Size;
        }
        for (int p = 0; p < parts; p++)
        {
            var slot = all.AsSpan(p * stride, stride);
            if (slot[0] == 0) continue;
            _layer.UpdateRunning(slot.Slice(1, _channels), slot.Slice(1 + _channels, _channels));
        }
    }
}
