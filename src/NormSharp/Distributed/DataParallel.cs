using NormSharp.Errors;

namespace NormSharp.Distributed;

/// <summary>
/// Data-parallel training across the ranks of <see cref="Communicator"/>: every rank holds the whole model,
/// takes its share of every global batch, and applies the same update from gradients summed over ranks.
/// Set it on <c>Trainer.DataParallel</c>; rank 0 then broadcasts the initial weights, and the ranks check at
/// start-up that they train the same model on the same run.
/// </summary>
public sealed class DataParallel
{
    /// <summary>Creates the settings for training over <paramref name="communicator"/>.</summary>
    public DataParallel(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        Communicator = communicator;
    }

    /// <summary>The ranks that train together.</summary>
    public ICommunicator Communicator { get; }

    /// <summary>How sums over ranks are formed; <see cref="ReductionOrder.Native"/> by default.</summary>
    public ReductionOrder Order { get; init; } = ReductionOrder.Native;

    /// <summary>
    /// Gradients are sent in buckets of about this many bytes, each started as soon as all its parameters'
    /// gradients are final in the backward pass (default 4 MiB).
    /// </summary>
    public int BucketBytes
    {
        get;
        init => field = value >= 4 ? value : throw new InvalidValueException(nameof(BucketBytes), $"DataParallel: the bucket size must be at least 4 bytes, got {value}.");
    } = 4 << 20;

    /// <summary>
    /// What identifies the run (configuration, data), compared between ranks at start-up together with the
    /// model's structure; null to compare the structure only. Leave out what may differ between ranks
    /// (rank, thread count, micro-batches).
    /// </summary>
    public string? RunIdentity { get; init; }

    /// <summary>
    /// Whether the ranks' initial weights must be equal at start-up (true by default: the same seed gives the
    /// same weights, so a difference means a misconfigured rank). Either way rank 0's weights are then
    /// broadcast to every rank.
    /// </summary>
    public bool CheckInitialWeights { get; init; } = true;

    /// <summary>
    /// Start each bucket's all-reduce from the backward pass as soon as its gradients are final (true, the
    /// default), or only after the pass (false: no overlap of communication with computation).
    /// </summary>
    public bool OverlapCommunication { get; init; } = true;

    /// <summary>Communication figures of the last step (updated by the trainer).</summary>
    public DataParallelStatistics LastStep { get; internal set; } = new(TimeSpan.Zero, 0, 0);

    /// <summary>
    /// These settings over another communicator (a <see cref="MeteredCommunicator"/> wrapping this one's, say),
    /// for the run identified by <paramref name="runIdentity"/>.
    /// </summary>
    public DataParallel With(ICommunicator communicator, string? runIdentity) => new(communicator)
    {
        Order = Order,
        BucketBytes = BucketBytes,
        CheckInitialWeights = CheckInitialWeights,
        OverlapCommunication = OverlapCommunication,
        RunIdentity = runIdentity,
    };

    /// <summary>This process's rank.</summary>
    public int Rank => Communicator.Rank;

    /// <summary>Number of ranks.</summary>
    public int Size => Communicator.Size;
}
