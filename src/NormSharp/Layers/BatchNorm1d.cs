using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// Batch normalization over [N, C] or [N, C, L] inputs (PyTorch's <c>nn.BatchNorm1d</c>): batch statistics
/// in training, updating running statistics with <see cref="Momentum"/>; running statistics in evaluation.
/// </summary>
public sealed class BatchNorm1d : Module
{
    /// <summary>Channels.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Weight of the new batch statistic in the running average.</summary>
    public float Momentum { get; }

    /// <summary>The gain, or null without affine.</summary>
    public Variable? Weight { get; }

    /// <summary>The bias, or null without affine.</summary>
    public Variable? Bias { get; }

    /// <summary>The running mean, or null when running statistics are not tracked.</summary>
    public Tensor? RunningMean { get; }

    /// <summary>The running (unbiased) variance, or null when not tracked.</summary>
    public Tensor? RunningVar { get; }

    /// <summary>
    /// Training-mode forward passes with running statistics so far (PyTorch's <c>num_batches_tracked</c>). It
    /// does not affect the output, since the running averages always use <see cref="Momentum"/>, so NormSharp's
    /// own state dict leaves it out (so checkpoints written before it existed still load); a PyTorch-style state
    /// dict carries it as an int64 scalar.
    /// </summary>
    public long NumBatchesTracked
    {
        get => _numBatchesTracked;
        set => _numBatchesTracked = value >= 0 ? value : throw new InvalidValueException(nameof(NumBatchesTracked), $"BatchNorm1d: num_batches_tracked cannot be negative, got {value}.");
    }

    private long _numBatchesTracked;

    /// <summary>Creates the layer with gain 1, bias 0, running mean 0 and running variance 1.</summary>
    public BatchNorm1d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    {
        if (numFeatures <= 0) throw new InvalidValueException(nameof(numFeatures), $"BatchNorm1d: num_features must be positive, got {numFeatures}.");
        Kernels.Normalization.NormalizationArguments.CheckEps("BatchNorm1d", eps);
        if (!(momentum >= 0f && momentum <= 1f)) throw new InvalidValueException(nameof(momentum), $"BatchNorm1d: momentum must be in [0, 1], got {momentum}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = RegisterParameter("weight", Variable.Parameter(Tensor.Full(1f, numFeatures), "weight"));
            Bias = RegisterParameter("bias", Variable.Parameter(Tensor.Zeros(numFeatures), "bias"));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Tensor.Full(1f, numFeatures));
        }
    }

    /// <inheritdoc />
    public override Variable Forward(Variable input)
    {
        bool useBatchStats = IsTraining || RunningMean is null;
        if (IsTraining && RunningMean is not null && DeferredStatistics is { } deferred)
        {
            // A partitioned step (micro-batches, ranks) records each part's statistics; the trainer applies
            // them in part order once every part (on every rank) is known.
            var output = F.BatchNorm(input, Weight, Bias, null, null, training: true, Momentum, Eps);
            deferred.Record(input.Value, NumFeatures);
            return output;
        }
        var y = F.BatchNorm(input, Weight, Bias, RunningMean, RunningVar, useBatchStats, Momentum, Eps);
        if (IsTraining && RunningMean is not null) _numBatchesTracked++;
        return y;
    }

    /// <summary>While set (by a trainer running partitioned steps), training passes record their batch statistics here instead of updating the running ones.</summary>
    internal Distributed.DeferredBatchStatistics? DeferredStatistics { get; set; }

    /// <summary>Applies one part's batch statistics to the running ones, as a training pass does.</summary>
    internal void UpdateRunning(ReadOnlySpan<double> mean, ReadOnlySpan<double> unbiasedVar)
    {
        RunningStatistics.Update(RunningMean!.Span, RunningVar!.Span, mean, unbiasedVar, Momentum);
        _numBatchesTracked++;
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{NumFeatures}, eps={Repr.Float(Eps)}, momentum={Repr.Float(Momentum)}, affine={Repr.Bool(Weight is not null)}, track_running_stats={Repr.Bool(RunningMean is not null)}";
}
