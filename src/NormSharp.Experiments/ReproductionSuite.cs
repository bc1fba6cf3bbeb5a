using NormSharp.Experiments.Claims;

namespace NormSharp.Experiments;

/// <summary>The paper's claims A–G as one suite: runs the selected claims and returns their results in order.</summary>
public static class ReproductionSuite
{
    /// <summary>Every claim's id.</summary>
    public static readonly string[] ClaimIds = ["A", "B", "C", "D", "E", "F", "G"];

    /// <summary>Runs the claims in <paramref name="only"/> (all when null); B and E share their runs.</summary>
    public static IReadOnlyList<ClaimResult> Run(SuiteContext ctx, IReadOnlyCollection<string>? only = null, Action<string>? log = null)
    {
        bool Want(string id) => only is null || only.Contains(id);
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
        return results.OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
    }
}
