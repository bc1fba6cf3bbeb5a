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

    /// <summary>The claim in words.</summary>
    [JsonPropertyName("title")] public required string Title { get; init; }

    /// <summary>What was run to test it.</summary>
    [JsonPropertyName("setup")] public required string Setup { get; init; }

    /// <summary>The verdict rule, stated before the numbers.</summary>
    [JsonPropertyName("rule")] public required string Rule { get; init; }

    /// <summary>The verdict the rule gives.</summary>
    [JsonPropertyName("verdict")] public required Verdict Verdict { get; init; }

    /// <summary>Every number the verdict rests on.</summary>
    [JsonPropertyName("evidence")] public required IReadOnlyDictionary<string, double> Evidence { get; init; }

    /// <summary>Tables for the report.</summary>
    [JsonIgnore] public IReadOnlyList<ReportTable> Tables { get; init; } = [];

    /// <summary>Figures for the report.</summary>
    [JsonIgnore] public IReadOnlyList<Figure> Figures { get; init; } = [];
}
