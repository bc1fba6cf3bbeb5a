using System.Globalization;

namespace NormSharp.Training;

/// <summary>The trainer's own counters, saved in every checkpoint.</summary>
public sealed class TrainerState
{
    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; internal set; }

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Batches drawn from the source in the current epoch (skipped steps included).</summary>
    public int BatchesIntoEpoch { get; internal set; }

    /// <summary>Sum of loss × samples over the current epoch's steps.</summary>
    public double EpochLossSum { get; internal set; }

    /// <summary>Samples (or batches, when the loss function reports none) in <see cref="EpochLossSum"/>.</summary>
    public long EpochSamples { get; internal set; }

    /// <summary>Mean training loss of the last completed epoch (NaN before the first).</summary>
    public double LastEpochLoss { get; internal set; } = double.NaN;

    /// <summary>
    /// A factor on every group's learning rate, on top of the schedule (1 normally; fault recovery lowers it).
    /// </summary>
    public double LearningRateScale
    {
        get;
        set
        {
            if (!(value > 0) || double.IsInfinity(value))
                throw new Errors.InvalidValueException(nameof(LearningRateScale), $"TrainerState: the learning-rate scale must be a positive finite number, got {value}.");
            field = value;
        }
    } = 1.0;

    /// <summary>Mean training loss of the current epoch so far, or NaN.</summary>
    public double EpochLossSoFar => EpochSamples > 0 ? EpochLossSum / EpochSamples : double.NaN;

    internal void WriteTo(IDictionary<string, string> meta)
    {
        meta["step"] = Step.ToString(CultureInfo.InvariantCulture);
        meta["epoch"] = Epoch.ToString(CultureInfo.InvariantCulture);
        meta["epoch_batches"] = BatchesIntoEpoch.ToString(CultureInfo.InvariantCulture);
        meta["epoch_loss_sum"] = EpochLossSum.ToString("R", CultureInfo.InvariantCulture);
        meta["epoch_loss_count"] = EpochSamples.ToString(CultureInfo.InvariantCulture);
        meta["last_epoch_loss"] = LastEpochLoss.ToString("R", CultureInfo.InvariantCulture);
        meta["lr_scale"] = LearningRateScale.ToString("R", CultureInfo.InvariantCulture);
    }

    internal void CopyFrom(TrainerState other)
    {
        Step = other.Step;
        Epoch = other.Epoch;
        BatchesIntoEpoch = other.BatchesIntoEpoch;
        EpochLossSum = other.EpochLossSum;
        EpochSamples = other.EpochSamples;
        LastEpochLoss = other.LastEpochLoss;
        LearningRateScale = other.LearningRateScale;
    }

    internal void ReadFrom(Checkpoint cp, string source)
    {
        Step = cp.RequireLong("step", source);
        Epoch = (int)cp.RequireLong("epoch", source);
        BatchesIntoEpoch = (int)cp.RequireLong("epoch_batches", source);
        EpochLossSum = cp.RequireDouble("epoch_loss_sum", source);
        EpochSamples = cp.RequireLong("epoch_loss_count", source);
        LastEpochLoss = cp.RequireDouble("last_epoch_loss", source);
        LearningRateScale = cp.RequireDouble("lr_scale", source);
    }
}
