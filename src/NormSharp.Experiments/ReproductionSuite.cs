using NormSharp.Experiments.Claims;

namespace NormSharp.Experiments;

/// <summary>
/// The reproduction's claims as one suite: the registry of claims (<see cref="Claims"/>) and the loop that runs the
/// selected ones, each judged with <see cref="FailedRuns"/> on top of its own rule.
/// </summary>
public static class ReproductionSuite
{
    /// <summary>
    /// Every claim, in report order: the paper's on images, the article's broader ones, then the language-modelling
    /// claims on text (H shares its Pre-LN runs with J) and the data-parallel one. Adding a claim is a file in
    /// <c>Claims/</c> with its <see cref="ClaimDefinition"/> and one line here.
    /// </summary>
    public static IReadOnlyList<ClaimDefinition> Claims { get; } =
    [
        BatchSizeClaim.Definition,
        Figure6Claim.Definition,
        OnlineLearningClaim.Definition,
        FasterTrainingClaim.Definition,
        RecurrentClaim.Definition,
        InvarianceClaim.Definition,
        LearningRateClaim.Definition,
        GradientFlowClaim.Definition,
        SmoothLossClaim.Definition,
        WarmupClaim.Definition,
        RecurrentLanguageClaim.Definition,
        RmsNormClaim.Definition,
        DataParallelClaim.Definition,
    ];

    /// <summary>Claims that need data-parallel runs (Open MPI): left out when the runner has no <see cref="ExperimentRunner.DistributedLauncher"/>.</summary>
    public static IReadOnlyList<string> DistributedClaimIds => Claims.Where(c => c.Distributed).Select(c => c.Id).ToArray();

    /// <summary>Every claim's id, in report order.</summary>
    public static IReadOnlyList<string> ClaimIds => Claims.Select(c => c.Id).ToArray();

    /// <summary>The definition of claim <paramref name="id"/>, or null.</summary>
    public static ClaimDefinition? Find(string id) => Claims.FirstOrDefault(c => c.Id == id);

    /// <summary>
    /// Runs the claims in <paramref name="only"/>, or the profile's own selection when null, in report order, and
    /// returns their results in that order.
    /// </summary>
    public static IReadOnlyList<ClaimResult> Run(SuiteContext ctx, IReadOnlyCollection<string>? only = null, Action<string>? log = null)
    {
        var wanted = Selected(ctx.Profile, only);
        var results = new List<ClaimResult>();
        foreach (var claim in Claims.Where(c => wanted.Contains(c.Id)))
        {
            if (claim.Distributed && ctx.Runner.DistributedLauncher is null)
            {
                // Without a launcher such a claim is left out (and says so when asked for by name).
                if (only is not null) log?.Invoke($"claim {claim.Id}: skipped (data-parallel runs need Open MPI's mpirun: apt-get install openmpi-bin)");
                continue;
            }
            log?.Invoke($"claim {claim.Id}...");
            var result = Judged(ctx, claim);
            log?.Invoke($"claim {claim.Id}: {ReportText.Verdict(result.Verdict)}");
            results.Add(result);
        }
        return results;
    }

    /// <summary>Whether any of the claims <paramref name="ids"/> trains on <paramref name="input"/> (a host loads only the data the claims it runs need).</summary>
    public static bool Needs(IEnumerable<string> ids, ClaimInput input) => ids.Any(id => Find(id)?.Input == input);

    /// <summary>The ids a run of <paramref name="profile"/> with <paramref name="only"/> covers.</summary>
    public static IReadOnlyList<string> Selected(ExperimentProfile profile, IReadOnlyCollection<string>? only) =>
        ClaimIds.Where(id => only is null ? profile.DefaultClaims.Contains(id) : only.Contains(id)).ToArray();

    // Failed runs count as FailedRuns says; a claim that breaks on them is reported, not thrown.
    private static ClaimResult Judged(SuiteContext ctx, ClaimDefinition claim)
    {
        int before = ctx.Runner.Results.Count;
        try
        {
            var result = claim.Run(ctx) with { Source = claim.Source };
            return FailedRuns.Apply(result, ctx.Runner.Results.Skip(before).ToList());
        }
        catch (Exception e) when (e is not OperationCanceledException && ctx.Runner.Results.Skip(before).Any(r => r.Failure is not null))
        {
            return FailedRuns.Unevaluated(claim.Id, ctx.Runner.Results.Skip(before).ToList(), e) with { Source = claim.Source };
        }
    }
}
