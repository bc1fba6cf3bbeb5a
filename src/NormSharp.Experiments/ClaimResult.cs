using System.Text.Json.Serialization;

namespace NormSharp.Experiments;

/// <summary>What the measurements say about a claim.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    /// <summary>The rule's conditions for support hold.</summary>
    [JsonStringEnumMemberName("supported")] Supported,
    /// <summary>The rule's conditions against the claim hold.</summary>
    [JsonStringEnumMemberName("not supported")] NotSupported,
    /// <summary>Neither holds: the evidence does not decide.</summary>
    [JsonStringEnumMemberName("inconclusive")] Inconclusive,
}

/// <summary>A table of a claim's report section.</summary>
/// <param name="Title">Caption.</param>
/// <param name="Columns">Column headers.</param>
/// <param name="Rows">Cells, already formatted.</param>
public sealed record ReportTable(string Title, string[] Columns, IReadOnlyList<string[]> Rows);

/// <summary>One line of a figure: y over x, with an optional ± spread band.</summary>
/// <param name="Label">Legend text.</param>
/// <param name="X">Abscissae.</param>
/// <param name="Y">Ordinates (means over seeds).</param>
/// <param name="Spread">Standard deviation over seeds at each point, or null.</param>
public sealed record Series(string Label, double[] X, double[] Y, double[]? Spread = null);

/// <summary>A figure of a claim's report section.</summary>
/// <param name="Name">File stem (e.g. <c>A-test-error</c>).</param>
/// <param name="Title">Title.</param>
/// <param name="XLabel">X axis label.</param>
/// <param name="YLabel">Y axis label.</param>
/// <param name="Series">The lines.</param>
/// <param name="LogX">Logarithmic x axis.</param>
/// <param name="LogY">Logarithmic y axis.</param>
public sealed record Figure(string Name, string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series, bool LogX = false, bool LogY = false);

/// <summary>A claim's outcome: what was run, the rule, the verdict it gives on the measured numbers, and the evidence.</summary>
public sealed record ClaimResult
{
    /// <summary>A to G.</summary>
    [JsonPropertyName("id")] public required string Id { get; init; }

    /// <summary>The claim in words: no more than its rule tests.</summary>
    [JsonPropertyName("title")] public required string Title { get; init; }

    /// <summary>Whose claim it is: the paper's, or a broader one of the article the suite started from.</summary>
    [JsonPropertyName("source")] public ClaimSource Source { get; init; } = ClaimSource.Paper;

    /// <summary>What was run to test it.</summary>
    [JsonPropertyName("setup")] public required string Setup { get; init; }

    /// <summary>The verdict rule, stated before the numbers.</summary>
    [JsonPropertyName("rule")] public required string Rule { get; init; }

    /// <summary>The comparisons the verdict rests on (judged) and those reported beside it.</summary>
    [JsonIgnore] public required IReadOnlyList<Finding> Findings { get; init; }

    /// <summary>The seeds every arm was run with (empty for a deterministic claim).</summary>
    [JsonPropertyName("seeds")] public required IReadOnlyList<ulong> Seeds { get; init; }

    /// <summary>
    /// Why the claim's evidence is incomplete (runs that failed, see <see cref="FailedRuns"/>), or null. A claim with
    /// missing evidence is inconclusive, whatever its findings say.
    /// </summary>
    [JsonIgnore] public string? MissingEvidence { get; init; }

    /// <summary>
    /// The verdict: inconclusive when evidence is missing; otherwise supported when every judged finding is
    /// supported, not supported when any is not supported, inconclusive otherwise (see <see cref="VerdictRules.Combine"/>).
    /// </summary>
    [JsonPropertyName("verdict")] public Verdict Verdict => MissingEvidence is not null ? Verdict.Inconclusive : VerdictRules.Combine(Findings);

    /// <summary>
    /// The judged finding that decides the verdict: the first not supported one, else the first inconclusive
    /// one, else (all supported) the one that clears its threshold by the smallest margin.
    /// </summary>
    [JsonIgnore] public Finding? Deciding
    {
        get
        {
            var judged = Findings.Where(f => f.Judged).ToList();
            return judged.FirstOrDefault(f => f.Verdict == Verdict.NotSupported)
                ?? judged.FirstOrDefault(f => f.Verdict == Verdict.Inconclusive)
                ?? judged.OrderBy(f => double.IsNaN(f.Margin) ? double.PositiveInfinity : f.Margin).FirstOrDefault();
        }
    }

    /// <summary>The deciding finding's effect.</summary>
    [JsonPropertyName("effect")] public double Effect => Deciding?.Effect ?? double.NaN;

    /// <summary>The deciding finding's 95% interval, lower end (NaN for a deterministic claim).</summary>
    [JsonPropertyName("ci_low")] public double CiLow => Deciding?.CiLow ?? double.NaN;

    /// <summary>The deciding finding's 95% interval, upper end.</summary>
    [JsonPropertyName("ci_high")] public double CiHigh => Deciding?.CiHigh ?? double.NaN;

    /// <summary>How far the deciding finding clears its threshold (negative: by how much it falls short).</summary>
    [JsonPropertyName("margin")] public double Margin => Deciding?.Margin ?? double.NaN;

    /// <summary>Every number the verdict rests on.</summary>
    [JsonPropertyName("evidence")] public required IReadOnlyDictionary<string, double> Evidence { get; init; }

    /// <summary>Tables for the report.</summary>
    [JsonIgnore] public IReadOnlyList<ReportTable> Tables { get; init; } = [];

    /// <summary>Figures for the report.</summary>
    [JsonIgnore] public IReadOnlyList<Figure> Figures { get; init; } = [];
}
