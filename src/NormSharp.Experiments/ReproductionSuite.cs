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
            var r = run();
            log?.Invoke($"claim {id}: {r.Verdict}");
            results.Add(r);
        }
        Do("G", () => InvarianceClaim.Run());
        Do("A", () => BatchSizeClaim.Run(ctx));
        if (Want("B") || Want("E"))
        {
            log?.Invoke("claims B and E...");
            var (b, e) = ConvergenceClaim.Run(ctx);
            if (Want("B")) results.Add(b);
            if (Want("E")) results.Add(e);
        }
        Do("C", () => LearningRateClaim.Run(ctx));
        Do("D", () => GradientFlowClaim.Run(ctx));
        Do("F", () => RecurrentClaim.Run(ctx));
        return results.OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
    }
}
