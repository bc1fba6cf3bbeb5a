using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Data;

/// <summary>
/// A mini-batch handed out by a <see cref="BatchLoader"/>: inputs [count, features] and one label per
/// sample, in buffers the loader owns. The loader alternates between two sets of buffers, so a batch stays
/// valid while the next one is fetched (the usual "fetch the next batch before backward" pattern); once
/// the loader reuses its buffers, reading this batch throws instead of silently returning other samples.
/// </summary>
public readonly struct LabeledBatch
{
    private readonly BatchLoader.BufferSet? _buffers;
    private readonly int _version;

    internal LabeledBatch(BatchLoader.BufferSet buffers, int version, Tensor inputs, int[] labels)
    {
        _buffers = buffers;
        _version = version;
        InputsUnchecked = inputs;
        LabelsUnchecked = labels;
    }

    private Tensor InputsUnchecked { get; }

    private int[] LabelsUnchecked { get; }

    /// <summary>The samples' features, [Count, features].</summary>
    public Tensor Inputs
    {
        get
        {
            EnsureValid();
            return InputsUnchecked;
        }
    }

    /// <summary>The samples' labels (for generated tasks, their indices into the task's own targets); Count long.</summary>
    public int[] Labels
    {
        get
        {
            EnsureValid();
            return LabelsUnchecked;
        }
    }

    /// <summary>Samples in the batch.</summary>
    public int Count => LabelsUnchecked?.Length ?? 0;

    /// <summary>Samples [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) as a batch of their own, valid as long as this one.</summary>
    public LabeledBatch Slice(int start, int count)
    {
        EnsureValid();
        if (start < 0 || count < 0 || start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"LabeledBatch.Slice: samples [{start}, {start + count}) are outside a batch of {Count}.");
        return new LabeledBatch(_buffers!, _version, InputsUnchecked.Narrow(start, count), LabelsUnchecked[start..(start + count)]);
    }

    private void EnsureValid()
    {
        if (_buffers is null) throw new InvalidOperationException("LabeledBatch: this is an empty batch (default value), not one handed out by a BatchLoader.");
        if (_buffers.Version != _version)
            throw new NormSharpException($"LabeledBatch: the loader has reused this batch's buffers for a later batch (a loader keeps the two latest batches); use a batch before fetching two more, or copy it (Tensor.Clone) to keep it.");
    }
}
