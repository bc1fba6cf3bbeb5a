namespace NormSharp.Experiments;

/// <summary>
/// How runs that did not end well count in a claim's verdict. This rule is fixed before any run and applied
/// by the suite after each claim, on top of the claim's own rule:
/// <list type="bullet">
/// <item><description>A <b>diverged</b> run (a non-finite or exploding loss stopped it) is a measured outcome and counts as the
/// claim's own rule says: in C the rate does not work, in B it never reaches the target (infinitely many
/// steps), and where a rule averages final numbers its NaN makes the comparison undecided.</description></item>
/// <item><description>A <b>failed</b> run (it ended with an error, or finished with numbers that are not numbers) is missing
/// evidence, not evidence against anything: a claim any of whose runs failed is <b>inconclusive</b>, whatever its
/// rule would say on the runs that remain, and its report lists each failed run with the reason.</description></item>
/// </list>
/// </summary>
public static class FailedRuns
{
    /// <summary>The rule in one sentence, for reports.</summary>
    public const string Rule = "A run that failed (an error, or numbers that are not numbers) is missing evidence: a claim with a failed run is inconclusive. A diverged run counts as the claim's own rule says.";

    /// <summary><paramref name="claim"/> as the rule leaves it, given the runs it used.</summary>
    public static ClaimResult Apply(ClaimResult claim, IReadOnlyList<RunResult> runs)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var failed = Distinct(runs);
        if (failed.Count == 0) return claim;
        return claim with
        {
            MissingEvidence = $"{failed.Count} of its runs failed",
            Rule = claim.Rule + " " + Rule,
            Evidence = new Dictionary<string, double>(claim.Evidence) { ["failed_runs"] = failed.Count },
            Tables = [.. claim.Tables, Table(failed)],
        };
    }

    /// <summary>The result of a claim whose computation itself broke on the failed runs it was given.</summary>
    public static ClaimResult Unevaluated(string id, IReadOnlyList<RunResult> runs, Exception error)
    {
        var failed = Distinct(runs);
        return new ClaimResult
        {
            Id = id,
            Title = $"claim {id} (not evaluated: {failed.Count} of its runs failed)",
            Setup = $"The claim's runs were started, but {failed.Count} failed, and its numbers could not be computed from the rest ({error.GetType().Name}: {error.Message}).",
            Rule = Rule,
            Findings = [],
            Seeds = [],
            MissingEvidence = $"{failed.Count} of its runs failed and its numbers could not be computed",
            Evidence = new Dictionary<string, double> { ["failed_runs"] = failed.Count },
            Tables = [Table(failed)],
        };
    }

    private static List<RunResult> Distinct(IReadOnlyList<RunResult> runs) => runs.Where(r => r.Failure is not null).DistinctBy(r => r.Id).ToList();

    private static ReportTable Table(List<RunResult> failed) =>
        new("Runs that failed (missing evidence)", ["run", "outcome", "reason"], failed.Select(r => new[] { r.Id, r.Outcome, r.Failure! }).ToList());
}
