using NormSharp.Experiments.Statistics;

namespace NormSharp.Experiments;

/// <summary>
/// One comparison a claim rests on, and what it says: the paired per-seed comparison of two arms, the
/// threshold fixed in code before the runs, and the three-way verdict of the threshold rule over the
/// comparison's 95% confidence interval. A finding that is only reported (<see cref="Judged"/> false)
/// carries its interval but does not enter the claim's verdict. A deterministic check has no comparison
/// and no interval: its value is exact, and its verdict is the check's.
/// </summary>
public sealed record Finding
{
    /// <summary>What is compared, in words (e.g. <c>LN test error, batch 4 − batch 128</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The per-seed comparison, or null for a deterministic check.</summary>
    public PairedComparison? Comparison { get; init; }

    /// <summary>The threshold the effect is held against.</summary>
    public required Threshold Threshold { get; init; }

    /// <summary>Whether the finding enters the claim's verdict.</summary>
    public required bool Judged { get; init; }

    /// <summary>The threshold rule's verdict on this finding alone.</summary>
    public required Verdict Verdict { get; init; }

    /// <summary>The effect (mean difference, geometric-mean ratio, or the exact value of a deterministic check).</summary>
    public required double Effect { get; init; }

    /// <summary>How far the interval (or the exact value) clears the threshold; negative when it falls short.</summary>
    public required double Margin { get; init; }

    /// <summary>Lower end of the 95% interval; NaN for a deterministic check or when there is none.</summary>
    public double CiLow => Comparison?.CiLow ?? double.NaN;

    /// <summary>Upper end of the 95% interval.</summary>
    public double CiHigh => Comparison?.CiHigh ?? double.NaN;

    /// <summary>Why the finding has no interval, or null.</summary>
    public string? Note { get; init; }

    /// <summary>Judges <paramref name="comparison"/> against <paramref name="threshold"/>.</summary>
    public static Finding Judge(string name, PairedComparison comparison, Threshold threshold) => new()
    {
        Name = name,
        Comparison = comparison,
        Threshold = threshold,
        Judged = true,
        Verdict = threshold.Decide(comparison.CiLow, comparison.CiHigh),
        Effect = comparison.Effect,
        Margin = threshold.Margin(comparison.CiLow, comparison.CiHigh),
        Note = comparison.Problem,
    };

    /// <summary>Reports <paramref name="comparison"/> beside a claim without letting it decide (the threshold's verdict is still shown).</summary>
    public static Finding Report(string name, PairedComparison comparison, Threshold threshold) =>
        Judge(name, comparison, threshold) with { Judged = false };

    /// <summary>A deterministic check: <paramref name="value"/> is exact (no sampling), held against <paramref name="threshold"/>.</summary>
    public static Finding Exact(string name, double value, Threshold threshold, string note) => new()
    {
        Name = name,
        Threshold = threshold,
        Judged = true,
        Verdict = threshold.Decide(value, value),
        Effect = value,
        Margin = threshold.Margin(value, value),
        Note = note,
    };
}
