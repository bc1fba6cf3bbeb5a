using System.Net;
using System.Text;
using NormSharp.Experiments;

namespace NormSharp.Cli.Reports;

/// <summary>Writes a reproduction's report: report.md, a self-contained report.html, results.json and the figures.</summary>
internal static class ReportWriter
{
    /// <summary>
    /// Writes the report of <paramref name="claims"/>: <paramref name="scope"/> says which claims this reproduction left
    /// out (empty when none), <paramref name="runs"/> are every run it used (for the section on training speed).
    /// </summary>
    public static void Write(string directory, IReadOnlyList<ClaimResult> claims, IReadOnlyDictionary<string, string> environment, IReadOnlyList<RunResult>? failedRuns = null,
        string scope = "", IReadOnlyList<RunResult>? runs = null)
    {
        failedRuns ??= [];
        string figures = Path.Combine(directory, "figures");
        var svgs = new Dictionary<string, string>();
        foreach (var c in claims)
            foreach (var f in c.Figures) svgs[f.Name] = FigureRenderer.Render(f, figures);
        var speed = runs is { Count: > 0 } ? SpeedTables(runs) : [];

        File.WriteAllText(Path.Combine(directory, "results.json"), ResultsJson.Serialize(claims, environment, failedRuns, speed));
        File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(claims, environment, scope, speed) + FailedRunsMarkdown(failedRuns));
        File.WriteAllText(Path.Combine(directory, "report.html"), Html(claims, environment, svgs, scope, speed));
    }

    /// <summary>The tables of the section on training speed.</summary>
    private static IReadOnlyList<ReportTable> SpeedTables(IReadOnlyList<RunResult> runs) =>
        new[] { RunTimings.Speed(runs), RunTimings.SmallBatchDrift(runs), RunTimings.SmallBatchCost(runs) }.Where(t => t.Rows.Count > 0).ToList();

    private const string SpeedNote =
        "Measured from every run's own metrics (the step_ms and step_cpu_ms columns of metrics.csv: forward, backward and update, with the trainer's per-step work; evaluations excluded).";

    /// <summary>The report's closing section on failed runs (empty when none failed).</summary>
    private static string FailedRunsMarkdown(IReadOnlyList<RunResult> failed)
    {
        if (failed.Count == 0) return "";
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("## Runs that failed");
        sb.AppendLine();
        sb.AppendLine(FailedRuns.Rule);
        sb.AppendLine();
        sb.AppendLine("| run | reason |");
        sb.AppendLine("|---|---|");
        foreach (var r in failed) sb.AppendLine($"| {r.Id} | {r.Failure?.Replace("|", "\\|")} |");
        return sb.ToString();
    }

    public static string VerdictText(Verdict v) => ReportText.Verdict(v);

    private static string Markdown(IReadOnlyList<ClaimResult> claims, IReadOnlyDictionary<string, string> env, string scope, IReadOnlyList<ReportTable> speed)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Layer normalization: the paper's claims, measured by NormSharp");
        sb.AppendLine();
        sb.AppendLine(string.Join(" · ", env.Select(kv => $"{kv.Key}: {kv.Value}")));
        sb.AppendLine();
        sb.AppendLine(VerdictNote + " " + ClaimSources.Legend);
        if (scope.Length > 0)
        {
            sb.AppendLine();
            sb.AppendLine(scope);
        }
        MarkdownTable(sb, FindingTables.Summary(claims));
        foreach (var c in claims)
        {
            sb.AppendLine();
            sb.AppendLine($"## {c.Id}. {c.Title}");
            sb.AppendLine();
            sb.AppendLine($"**Verdict: {VerdictText(c.Verdict)}.** Source: {ClaimSources.Name(c.Source)}.");
            sb.AppendLine();
            sb.AppendLine($"*What was run.* {c.Setup}");
            sb.AppendLine();
            sb.AppendLine($"*Rule.* {c.Rule}");
            foreach (var t in Tables(c)) MarkdownTable(sb, t);
            foreach (var f in c.Figures)
            {
                sb.AppendLine();
                sb.AppendLine($"![{f.Title}](figures/{f.Name}.png)");
            }
        }
        if (speed.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Training speed of the runs");
            sb.AppendLine();
            sb.AppendLine(SpeedNote);
            foreach (var t in speed) MarkdownTable(sb, t);
        }
        return sb.ToString();
    }

    private static string Html(IReadOnlyList<ClaimResult> claims, IReadOnlyDictionary<string, string> env, IReadOnlyDictionary<string, string> svgs, string scope, IReadOnlyList<ReportTable> speed)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>NormSharp reproduction report</title><style>");
        sb.AppendLine("body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:14px}th{background:#f3f3f3}.v{font-weight:bold;padding:2px 8px;border-radius:4px}.supported{background:#d6f5d6}.not{background:#f8d7d7}.inconclusive{background:#f5ecc8}.env{color:#666;font-size:13px}svg{max-width:100%;height:auto}");
        sb.AppendLine("</style></head><body>");
        sb.AppendLine("<h1>Layer normalization: the paper's claims, measured by NormSharp</h1>");
        sb.AppendLine($"<p class=\"env\">{E(string.Join(" · ", env.Select(kv => $"{kv.Key}: {kv.Value}")))}</p>");
        sb.AppendLine($"<p>{E(VerdictNote + " " + ClaimSources.Legend)}</p>");
        if (scope.Length > 0) sb.AppendLine($"<p>{E(scope)}</p>");
        HtmlTable(sb, FindingTables.Summary(claims));
        foreach (var c in claims)
        {
            sb.AppendLine($"<h2>{E(c.Id)}. {E(c.Title)}</h2><p>Verdict: {Badge(c.Verdict)} Source: {E(ClaimSources.Name(c.Source))}.</p>");
            sb.AppendLine($"<p><em>What was run.</em> {E(c.Setup)}</p><p><em>Rule.</em> {E(c.Rule)}</p>");
            foreach (var t in Tables(c)) HtmlTable(sb, t);
            foreach (var f in c.Figures)
                if (svgs.TryGetValue(f.Name, out var svg))
                {
                    // Inline SVG keeps the page self-contained.
                    int start = svg.IndexOf("<svg", StringComparison.Ordinal);
                    sb.AppendLine($"<figure>{(start >= 0 ? svg[start..] : "")}</figure>");
                }
        }
        if (speed.Count > 0)
        {
            sb.AppendLine($"<h2>Training speed of the runs</h2><p>{E(SpeedNote)}</p>");
            foreach (var t in speed) HtmlTable(sb, t);
        }
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }

    /// <summary>How to read the verdicts, above the summary table.</summary>
    private const string VerdictNote =
        "Every verdict compares arms seed by seed (each seed: the same initialization and data order in every arm) and holds a 95% Student-t interval of the effect against a threshold fixed in the code before the runs: " +
        "supported when the whole interval clears the threshold, not supported when the whole interval lies on the wrong side, inconclusive otherwise. " +
        "The margin is how far the interval clears the threshold (negative: by how much it falls short). Ratios are geometric means of per-seed ratios.";

    /// <summary>A claim's tables: its findings, their per-seed values, then the claim's own.</summary>
    private static IEnumerable<ReportTable> Tables(ClaimResult c)
    {
        yield return FindingTables.Findings(c);
        if (FindingTables.PerSeed(c) is { } perSeed) yield return perSeed;
        foreach (var t in c.Tables) yield return t;
    }

    private static void MarkdownTable(StringBuilder sb, ReportTable t)
    {
        // A pipe inside a cell would split it.
        static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
        sb.AppendLine();
        sb.AppendLine($"*{t.Title}*");
        sb.AppendLine();
        sb.AppendLine("| " + string.Join(" | ", t.Columns.Select(Cell)) + " |");
        sb.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", t.Columns.Length)));
        foreach (var r in t.Rows) sb.AppendLine("| " + string.Join(" | ", r.Select(Cell)) + " |");
    }

    private static void HtmlTable(StringBuilder sb, ReportTable t)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        sb.AppendLine($"<p><em>{E(t.Title)}</em></p><table><tr>{string.Concat(t.Columns.Select(h => $"<th>{E(h)}</th>"))}</tr>");
        foreach (var r in t.Rows) sb.AppendLine($"<tr>{string.Concat(r.Select(x => $"<td>{(x is "supported" or "not supported" or "inconclusive" ? Badge(x) : E(x))}</td>"))}</tr>");
        sb.AppendLine("</table>");
    }

    private static string Badge(string verdict) => verdict switch
    {
        "supported" => Badge(Verdict.Supported),
        "not supported" => Badge(Verdict.NotSupported),
        _ => Badge(Verdict.Inconclusive),
    };

    private static string Badge(Verdict v) => v switch
    {
        Verdict.Supported => "<span class=\"v supported\">supported</span>",
        Verdict.NotSupported => "<span class=\"v not\">not supported</span>",
        _ => "<span class=\"v inconclusive\">inconclusive</span>",
    };
}
