using System.Globalization;
using System.Text.RegularExpressions;

namespace NormSharp.Experiments;

/// <summary>
/// How fast a reproduction's runs trained, from their own metrics (<c>step_ms</c> and <c>step_cpu_ms</c> of every step): samples per second
/// per group of runs (the runs of one arm over its seeds), and for every batch-4 run whether its step time stays
/// flat to the end: the median over each block of <see cref="Block"/> steps, relative to the first block's, at most
/// <see cref="DriftLimit"/> (single steps are noisy; a slow-down such as subnormal arithmetic in late training shows
/// as a rising block median).
/// </summary>
public static partial class RunTimings
{
    /// <summary>Steps per block.</summary>
    public const int Block = 500;

    /// <summary>The largest block median allowed, relative to the first block's.</summary>
    public const double DriftLimit = 1.3;

    /// <summary>The medians of the step times over consecutive full blocks of <see cref="Block"/> steps.</summary>
    public static double[] BlockMedians(IReadOnlyList<double> stepMilliseconds)
    {
        int blocks = stepMilliseconds.Count / Block;
        return Enumerable.Range(0, blocks).Select(b => Stats.Median(stepMilliseconds.Skip(b * Block).Take(Block))).ToArray();
    }

    /// <summary>The largest block median over the first block's (NaN with fewer than two blocks).</summary>
    public static double Drift(IReadOnlyList<double> stepMilliseconds)
    {
        var m = BlockMedians(stepMilliseconds);
        return m.Length < 2 || !(m[0] > 0) ? double.NaN : m.Skip(1).Max() / m[0];
    }

    /// <summary>A run's training time in seconds: the sum of its step times.</summary>
    public static double TrainingSeconds(RunResult run) => run.StepMilliseconds.Where(double.IsFinite).Sum() / 1000;

    /// <summary>The group a run belongs to: its id without the seed (<c>A-layer-b4-s3</c> → <c>A-layer-b4</c>).</summary>
    public static string Group(string id) => SeedSuffix().Replace(id, "");

    [GeneratedRegex(@"-(s\d+|tune)$")]
    private static partial Regex SeedSuffix();

    /// <summary>
    /// The median <c>worker_share</c> of the first block and of the block with the largest step-time median
    /// (<paramref name="blockMedians"/>), as "first → slowest"; "-" when the run did not log it.
    /// </summary>
    private static string WorkerShares(RunResult run, double[] blockMedians)
    {
        var share = run.StepValues("worker_share");
        if (share.Length != run.StepMilliseconds.Length || blockMedians.Length < 2 || !share.Any(double.IsFinite)) return "-";
        int slowest = Array.IndexOf(blockMedians, blockMedians.Skip(1).Max());
        string Median(int block) => share.Skip(block * Block).Take(Block).Where(double.IsFinite).ToList() is { Count: > 0 } values
            ? SuiteContext.Num(Stats.Median(values), "F2") : "-";
        return $"{Median(0)} → {Median(slowest)}";
    }

    /// <summary>Samples per second and training time per group of runs (medians over the group's runs).</summary>
    public static ReportTable Speed(IEnumerable<RunResult> runs)
    {
        var rows = runs.DistinctBy(r => r.Id).Where(r => r.Failure is null).GroupBy(r => Group(r.Id))
            .Select(g => new[]
            {
                g.Key, g.Count().ToString(CultureInfo.InvariantCulture), g.First().Config.BatchSize.ToString(CultureInfo.InvariantCulture),
                SuiteContext.Num(Stats.Median(g.Select(r => (double)r.StepLoss.Length)), "F0"),
                SuiteContext.Num(Stats.Median(g.Select(r => r.Summary.SamplesPerSecond)), "F0"),
                SuiteContext.Num(Stats.Median(g.Select(TrainingSeconds)), "F1"),
            }).ToList();
        return new ReportTable("training speed per group of runs (medians over its seeds; training time is the sum of the step times, evaluations excluded)",
            ["runs", "count", "batch", "steps", "samples/s", "training s"], rows);
    }

    /// <summary>
    /// Every batch-4 run's block medians relative to its first block, in wall time and in the training thread's CPU
    /// time, and whether the largest stays within <see cref="DriftLimit"/>. Judged on CPU time where the run logged it:
    /// a slow-down of the arithmetic (subnormals) raises both, while other work taking the core raises wall time only.
    /// </summary>
    public static ReportTable SmallBatchDrift(IEnumerable<RunResult> runs)
    {
        var rows = runs.DistinctBy(r => r.Id).Where(r => r.Failure is null && r.Config.BatchSize == 4 && r.StepMilliseconds.Length >= 2 * Block)
            .Select(r =>
            {
                var m = BlockMedians(r.StepMilliseconds);
                double wall = Drift(r.StepMilliseconds);
                bool hasCpu = r.StepCpuMilliseconds.Length == r.StepMilliseconds.Length && r.StepCpuMilliseconds.All(double.IsFinite);
                var c = hasCpu ? BlockMedians(r.StepCpuMilliseconds) : [];
                double cpu = hasCpu ? Drift(r.StepCpuMilliseconds) : double.NaN;
                double judged = hasCpu ? cpu : wall;
                return new[]
                {
                    r.Id, SuiteContext.Num(m[0], "F2"), string.Join(" ", m.Select(v => SuiteContext.Num(v / m[0], "F2"))), SuiteContext.Num(wall, "F2"),
                    hasCpu ? SuiteContext.Num(c[0], "F2") : "-", hasCpu ? string.Join(" ", c.Select(v => SuiteContext.Num(v / c[0], "F2"))) : "-",
                    SuiteContext.Num(cpu, "F2"), judged <= DriftLimit ? "yes" : "no",
                    r.Summary.SubnormalValues is { } subnormal ? subnormal.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "-",
                    WorkerShares(r, hasCpu ? c : m),
                };
            }).ToList();
        return new ReportTable($"batch-4 runs: median step time per block of {Block} steps, relative to the first block, in wall time and in the training thread's CPU time (the largest must stay within {DriftLimit}×; judged on CPU time, which other work on the machine does not stretch), the subnormal values left in the parameters, gradients and optimizer state (the slow-down's usual cause), and the share of the parallel work the pool's workers ran in the first and in the slowest block (near 0: the step ran on one core, the machine did not give the run its others)",
            ["run", "first block ms", "wall blocks / first", "largest (wall)", "first block CPU ms", "CPU blocks / first", "largest (CPU)", $"within {DriftLimit}×", "subnormal values at the end", "worker share, first → slowest block"], rows);
    }

    /// <summary>
    /// For each batch-4 arm, its median training time over the unnormalized arm's of the same claim and seed
    /// (e.g. <c>A-layer-b4</c> over <c>A-none-b4</c>): normalizations should not make small-batch steps much dearer.
    /// </summary>
    public static ReportTable SmallBatchCost(IEnumerable<RunResult> runs)
    {
        var byId = runs.DistinctBy(r => r.Id).Where(r => r.Failure is null && r.Config.BatchSize == 4).ToDictionary(r => r.Id);
        var rows = new List<string[]>();
        foreach (var group in byId.Values.GroupBy(r => Group(r.Id)).Where(g => g.Key.Contains("-none-", StringComparison.Ordinal)))
            foreach (var other in byId.Values.GroupBy(r => Group(r.Id)).Where(g => g.Key != group.Key && g.Key.Replace("-" + Recipes.Spelling.Of(g.First().Config.Norm) + "-", "-none-", StringComparison.Ordinal) == group.Key))
            {
                var ratios = other.Select(r => (r, none: byId.GetValueOrDefault(r.Id.Replace(other.Key, group.Key, StringComparison.Ordinal))))
                    .Where(t => t.none is not null).Select(t => TrainingSeconds(t.r) / TrainingSeconds(t.none!)).ToArray();
                if (ratios.Length == 0) continue;
                rows.Add([other.Key, group.Key, SuiteContext.Num(Stats.Median(ratios), "F2"), SuiteContext.Num(ratios.Min(), "F2"), SuiteContext.Num(ratios.Max(), "F2")]);
            }
        return new ReportTable("batch-4 training time of each normalized arm over the unnormalized arm's, seed by seed", ["arm", "against", "median ratio", "smallest", "largest"], rows);
    }
}
