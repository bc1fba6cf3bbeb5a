using NormSharp.Experiments.Claims;

namespace NormSharp.Experiments;

/// <summary>
/// The paper's claims A–G and the language-modelling claims H–J as one suite: runs the selected claims and returns
/// their results in order.
/// </summary>
public static class ReproductionSuite
{
    /// <summary>Every claim's id.</summary>
    public static readonly string[] ClaimIds = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"];

    /// <summary>Claims that need data-parallel runs (Open MPI): left out when the runner has no <see cref="ExperimentRunner.DistributedLauncher"/>.</summary>
    public static readonly string[] DistributedClaimIds = ["K"];

    /// <summary>The claims that train language models on a text corpus (the rest use the image dataset).</summary>
    public static readonly string[] LanguageModelClaimIds = ["H", "I", "J"];

    /// <summary>The claims a profile runs when none are named: all, or all but H–J where the profile leaves them out.</summary>
    public static IReadOnlyList<string> DefaultClaims(ExperimentProfile profile) =>
        profile.LanguageModel.RunByDefault ? ClaimIds : ClaimIds.Except(LanguageModelClaimIds).ToArray();

    /// <summary>Runs the claims in <paramref name="only"/> (the profile's default claims when null); B and E share their runs, as H and J do.</summary>
    public static IReadOnlyList<ClaimResult> Run(SuiteContext ctx, IReadOnlyCollection<string>? only = null, Action<string>? log = null)
    {
        var wanted = only ?? DefaultClaims(ctx.Profile);
        bool Want(string id) => wanted.Contains(id);
        var results = new List<ClaimResult>();
        void Do(string id, Func<ClaimResult> run)
        {
            if (!Want(id)) return;
            log?.Invoke($"claim {id}...");
            var r = Judged([id], () => [run()])[0];
            log?.Invoke($"claim {id}: {r.Verdict}");
            results.Add(r);
        }
        // Failed runs count as FailedRuns says; a claim that breaks on them is reported, not thrown.
        IReadOnlyList<ClaimResult> Judged(string[] ids, Func<ClaimResult[]> run)
        {
            int before = ctx.Runner.Results.Count;
            try
            {
                var claims = run();
                var used = ctx.Runner.Results.Skip(before).ToList();
                return claims.Select(c => FailedRuns.Apply(c, used)).ToList();
            }
            catch (Exception e) when (e is not OperationCanceledException && ctx.Runner.Results.Skip(before).Any(r => r.Failure is not null))
            {
                var used = ctx.Runner.Results.Skip(before).ToList();
                return ids.Select(id => FailedRuns.Unevaluated(id, used, e)).ToList();
            }
        }
        Do("G", () => InvarianceClaim.Run());
        Do("A", () => BatchSizeClaim.Run(ctx));
        if (Want("B") || Want("E"))
        {
            log?.Invoke("claims B and E...");
            var be = Judged(["B", "E"], () =>
            {
                var (b, e) = ConvergenceClaim.Run(ctx);
                return [b, e];
            });
            if (Want("B")) results.Add(be[0]);
            if (Want("E")) results.Add(be[1]);
        }
        Do("C", () => LearningRateClaim.Run(ctx));
        Do("D", () => GradientFlowClaim.Run(ctx));
        Do("F", () => RecurrentClaim.Run(ctx));
        Do("H", () => WarmupClaim.Run(ctx));
        Do("I", () => RecurrentLanguageClaim.Run(ctx));
        Do("J", () => RmsNormClaim.Run(ctx));
        // K needs Open MPI to start its ranks: without a launcher it is left out (and says so when asked for by name).
        if (ctx.Runner.DistributedLauncher is not null) Do("K", () => DataParallelClaim.Run(ctx));
        else if (only is not null && only.Contains("K")) log?.Invoke("claim K: skipped (data-parallel runs need Open MPI's mpirun: apt-get install openmpi-bin)");
        return results.OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
    }
}
