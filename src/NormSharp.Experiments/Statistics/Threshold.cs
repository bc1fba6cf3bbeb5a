using System.Globalization;

namespace NormSharp.Experiments.Statistics;

/// <summary>Which side of a threshold supports a claim.</summary>
public enum ThresholdSide
{
    /// <summary>The effect must be at least the threshold.</summary>
    AtLeast,
    /// <summary>The effect must be at most the threshold.</summary>
    AtMost,
    /// <summary>The effect must lie within ± the threshold (an equivalence margin).</summary>
    Within,
}

/// <summary>
/// A threshold an effect must clear, fixed in code before the runs it judges, and the three-way rule over a
/// confidence interval: supported when the whole interval clears the threshold, not supported when the
/// whole interval lies on the wrong side (it excludes every value that would support the claim),
/// inconclusive otherwise: also when there is no interval.
/// </summary>
/// <param name="Side">Which side supports the claim.</param>
/// <param name="Value">The threshold (for <see cref="ThresholdSide.Within"/>, the half-width of the band).</param>
/// <param name="Unit">How the value reads in a report: empty, or "×" for ratios.</param>
public sealed record Threshold(ThresholdSide Side, double Value, string Unit = "")
{
    /// <summary>The effect must be ≥ <paramref name="value"/>.</summary>
    public static Threshold AtLeast(double value, string unit = "") => new(ThresholdSide.AtLeast, value, unit);

    /// <summary>The effect must be ≤ <paramref name="value"/>.</summary>
    public static Threshold AtMost(double value, string unit = "") => new(ThresholdSide.AtMost, value, unit);

    /// <summary>The effect must lie in [−<paramref name="halfWidth"/>, +<paramref name="halfWidth"/>].</summary>
    public static Threshold Within(double halfWidth, string unit = "") =>
        halfWidth > 0 ? new(ThresholdSide.Within, halfWidth, unit) : throw new ArgumentOutOfRangeException(nameof(halfWidth), halfWidth, "an equivalence band needs a positive half-width.");

    /// <summary>The three-way verdict for the interval [<paramref name="low"/>, <paramref name="high"/>].</summary>
    public Verdict Decide(double low, double high)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high) || low > high) return Verdict.Inconclusive;
        return Side switch
        {
            ThresholdSide.AtLeast => low >= Value ? Verdict.Supported : high < Value ? Verdict.NotSupported : Verdict.Inconclusive,
            ThresholdSide.AtMost => high <= Value ? Verdict.Supported : low > Value ? Verdict.NotSupported : Verdict.Inconclusive,
            _ => low >= -Value && high <= Value ? Verdict.Supported : low > Value || high < -Value ? Verdict.NotSupported : Verdict.Inconclusive,
        };
    }

    /// <summary>
    /// How far the interval clears the threshold, in the effect's units: positive when it clears it (the
    /// distance from the nearest end of the interval to the threshold), negative by how much it falls short.
    /// NaN without an interval.
    /// </summary>
    public double Margin(double low, double high)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high)) return double.NaN;
        return Side switch
        {
            ThresholdSide.AtLeast => low - Value,
            ThresholdSide.AtMost => Value - high,
            _ => Value - Math.Max(Math.Abs(low), Math.Abs(high)),
        };
    }

    /// <summary>The threshold as a report writes it: "≥ 0.02", "≤ 0.9×", "within ±0.02".</summary>
    public override string ToString()
    {
        string v = Value.ToString("G4", CultureInfo.InvariantCulture) + Unit;
        return Side switch
        {
            ThresholdSide.AtLeast => "≥ " + v,
            ThresholdSide.AtMost => "≤ " + v,
            _ => "within ±" + v,
        };
    }
}
