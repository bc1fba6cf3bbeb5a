namespace NormSharp.Experiments.Statistics;

/// <summary>How two arms' per-seed values are compared.</summary>
public enum EffectScale
{
    /// <summary>treatment − control, averaged over seeds (for quantities on an additive scale: error rates, decades).</summary>
    Difference,

    /// <summary>
    /// treatment / control, analysed as the mean of ln(ratio) over seeds and reported back as the geometric-mean
    /// ratio (for positive quantities that scale multiplicatively: steps, fluctuation, loss).
    /// </summary>
    Ratio,
}
