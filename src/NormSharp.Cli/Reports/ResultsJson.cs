using System.Text.Json;
using NormSharp.Experiments;

namespace NormSharp.Cli.Reports;

/// <summary>The shape of results.json: every claim with its verdict, the deciding effect and interval, its seeds and every finding with per-seed values, then the runs that failed and how they count. Non-finite numbers are written as null.</summary>
internal static class ResultsJson
{
    public static string Serialize(IReadOnlyList<ClaimResult> claims, IReadOnlyDictionary<string, string> environment, IReadOnlyList<RunResult> failedRuns, IReadOnlyList<ReportTable>? speed = null)
    {
        static double? N(double v) => double.IsFinite(v) ? v : null;
        static double?[] A(IEnumerable<double> vs) => vs.Select(N).ToArray();
        var json = new
        {
            claims = claims.Select(c => new
            {
                id = c.Id,
                title = c.Title,
                source = ClaimSources.Name(c.Source),
                verdict = ReportWriter.VerdictText(c.Verdict),
                missing_evidence = c.MissingEvidence,
                effect = N(c.Effect),
                ci_low = N(c.CiLow),
                ci_high = N(c.CiHigh),
                margin = N(c.Margin),
                threshold = c.Deciding?.Threshold.ToString(),
                deciding = c.Deciding?.Name,
                seeds = c.Seeds,
                rule = c.Rule,
                setup = c.Setup,
                findings = c.Findings.Select(f => new
                {
                    name = f.Name,
                    judged = f.Judged,
                    verdict = ReportWriter.VerdictText(f.Verdict),
                    effect = N(f.Effect),
                    ci_low = N(f.CiLow),
                    ci_high = N(f.CiHigh),
                    margin = N(f.Margin),
                    threshold = new { side = f.Threshold.Side.ToString(), value = f.Threshold.Value, text = f.Threshold.ToString() },
                    note = f.Note,
                    comparison = f.Comparison is { } p ? new
                    {
                        scale = p.Scale.ToString(),
                        treatment = p.Treatment,
                        control = p.Control,
                        seeds = p.Seeds,
                        treatment_values = A(p.TreatmentValues),
                        control_values = A(p.ControlValues),
                        per_seed = A(p.PerSeed),
                        level = p.Level,
                        degrees_of_freedom = p.DegreesOfFreedom,
                        std_error = N(p.StdError),
                        bootstrap_ci_low = N(p.BootstrapLow),
                        bootstrap_ci_high = N(p.BootstrapHigh),
                    } : null,
                }),
                evidence = c.Evidence.ToDictionary(kv => kv.Key, kv => N(kv.Value)),
            }),
            failed_runs = failedRuns.Select(r => new { id = r.Id, outcome = r.Outcome, reason = r.Failure }),
            failed_run_rule = FailedRuns.Rule,
            training_speed = (speed ?? []).Select(t => new { title = t.Title, columns = t.Columns, rows = t.Rows }),
            environment,
        };
        return JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true });
    }
}
