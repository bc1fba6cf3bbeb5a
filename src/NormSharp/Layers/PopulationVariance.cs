namespace NormSharp.Layers;

/// <summary>How <see cref="PopulationStatistics"/> turns per-batch statistics into a population variance.</summary>
public enum PopulationVariance
{
    /// <summary>
    /// The variance of all samples of the pass (batch moments combined exactly, unbiased over all samples): the
    /// spread within batches plus the spread of the batch means. The default: for a channel that is active in
    /// few samples (the ink of an image's first rows), batch means vary strongly between batches, and only the
    /// pooled variance describes the single sample an evaluation normalizes.
    /// </summary>
    Pooled,

    /// <summary>
    /// The average over batches of each batch's unbiased variance, as PyTorch's
    /// <c>torch.optim.swa_utils.update_bn</c> computes it (cumulative average of running statistics). It omits the
    /// spread of the batch means, so it underestimates the variance of channels whose batch means vary.
    /// </summary>
    BatchAverage,
}
