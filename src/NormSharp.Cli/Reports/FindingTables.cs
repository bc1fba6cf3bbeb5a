using System.Globalization;
using NormSharp.Experiments;
using NormSharp.Experiments.Statistics;

namespace NormSharp.Cli.Reports;

/// <summary>The report's tables of verdicts and findings: the summary over claims, each claim's findings, and their per-seed values.</summary>
internal static class FindingTables
{
    /// <summary>One line per claim: its verdict and the comparison that decides it, with effect, interval and margin.</summary>
    public static ReportTable Summary(IReadOnlyList<ClaimResult> claims) => new(
        "verdicts (the deciding comparison: the first not supported or inconclusive one, else the one with the smallest margin)",
        ["claim", "source", "verdict", "deciding comparison", "effect", "95% interval", "threshold", "margin", "seeds"],
        claims.Select(c =>
        {
            var d = c.Deciding;
            return new[]
            {
                $"{c.Id}. {c.Title}", ClaimSources.Name(c.Source), ReportWriter.VerdictText(c.Verdict), (c.MissingEvidence is { } missing ? $"evidence missing ({missing}); " : "") + (d?.Name ?? "n/a"), d is null ? "n/a" : Number(d.Effect), d is null ? "n/a" : Interval(d),
                d?.Threshold.ToString() ?? "n/a", d is null ? "n/a" : Signed(d.Margin), c.Seeds.Count == 0 ? "deterministic" : c.Seeds.Count.ToString(CultureInfo.InvariantCulture),
            };
        }).ToList());

    /// <summary>A claim's findings: effect, t interval, bootstrap cross-check, threshold, margin and verdict of each.</summary>
    public static ReportTable Findings(ClaimResult claim) => new(
        claim.Findings.Any(f => f.Comparison is not null)
            ? "comparisons (paired by seed; 95% Student-t interval; the percentile bootstrap is a cross-check and decides nothing)"
            : "checks (deterministic: exact values, no sampling and so no interval)",
        ["comparison", "counts", "effect", "95% interval (t)", "bootstrap 95%", "threshold", "margin", "verdict"],
        claim.Findings.Select(f => new[]
        {
            f.Name + (f.Comparison?.Scale == EffectScale.Ratio ? " (geometric mean)" : ""), f.Judged ? "judged" : "reported", Number(f.Effect), Interval(f),
            f.Comparison is { HasInterval: true } c ? $"[{Number(c.BootstrapLow)}, {Number(c.BootstrapHigh)}]" : "n/a",
            f.Threshold.ToString(), Signed(f.Margin), ReportWriter.VerdictText(f.Verdict) + (f.Note is { } n && f.Comparison is not null ? $" ({n})" : ""),
        }).ToList());

    /// <summary>Every comparison's per-seed values: the two arms and their difference (or ratio), seed by seed.</summary>
    public static ReportTable? PerSeed(ClaimResult claim)
    {
        var compared = claim.Findings.Where(f => f.Comparison is not null).ToList();
        if (compared.Count == 0) return null;
        var seeds = compared.SelectMany(f => f.Comparison!.Seeds).Distinct().Order().ToList();
        var rows = new List<string[]>();
        foreach (var f in compared)
        {
            var c = f.Comparison!;
            var index = c.Seeds.ToList();
            string[] Row(string name, string label, IReadOnlyList<double> values) =>
                [name, label, .. seeds.Select(s => index.IndexOf(s) is int i and >= 0 ? Number(values[i]) : "")];
            rows.Add(Row(f.Name, c.Treatment, c.TreatmentValues));
            rows.Add(Row("", c.Control, c.ControlValues));
            rows.Add(Row("", c.Scale == EffectScale.Ratio ? "ratio" : "difference", c.PerSeed));
        }
        return new ReportTable("per-seed values", ["comparison", "value", .. seeds.Select(s => $"seed {s}")], rows);
    }

    /// <summary>"[low, high]", or why there is none.</summary>
    public static string Interval(Finding f) =>
        f.Comparison is null ? "exact (deterministic)" : f.Comparison.HasInterval ? $"[{Number(f.CiLow)}, {Number(f.CiHigh)}]" : $"none ({f.Comparison.Problem})";

    private static string Number(double v) => SuiteContext.Num(v, "G4");

    private static string Signed(double v) => double.IsNaN(v) ? "n/a" : (v >= 0 ? "+" : "−") + SuiteContext.Num(Math.Abs(v), "G3");
}
