using NormSharp.Experiments.Recipes;
using NormSharp.Experiments.Statistics;
using NormSharp.Layers;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// K: with data-parallel training over 2 ranks at a per-rank batch of 4 (global batch 8), layer normalization
/// trains as one process with batch 8 (it needs no communication); batch normalization with each rank's own
/// statistics degrades; SyncBatchNorm, whose statistics span both ranks, recovers it, at a communication cost
/// that is measured. Runs only where Open MPI can start the ranks.
/// </summary>
public static class DataParallelClaim
{
    /// <summary>The claim's entry in the suite (it needs Open MPI to start its ranks).</summary>
    public static ClaimDefinition Definition { get; } = new("K", ClaimSource.FollowUp, "data-parallel training at a per-rank batch of 4: LN needs no communication, BN needs synchronized statistics", Run, ClaimInput.Images, Distributed: true);

    /// <summary>Ranks of the data-parallel runs.</summary>
    public const int Ranks = 2;

    /// <summary>Samples per rank per step.</summary>
    public const int PerRankBatch = 4;

    /// <summary>Test-error difference within which LN on 2 ranks counts as training like one process (half a point: LN's arithmetic is the same up to summation order).</summary>
    public const double LayerNormTolerance = 0.005;

    /// <summary>Test-error increase that counts as local BN degrading, and the band within which SyncBN counts as recovering (one point).</summary>
    public const double BatchNormTolerance = 0.01;

    /// <summary>Runs the claim's arms over the seeds.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var seeds = ctx.SeedList("K");
        const int global = Ranks * PerRankBatch;
        // The paper's MLP, narrower: 2 ranks of one core each keep this claim a minute or two.
        TrainingConfig Config(NormKind norm, ulong seed) => ctx.Mlp(Spelling.Of(norm), global, seed) with
        {
            Hidden = [256, 256],
            TrainLimit = ctx.Profile.TrainImages > 0 ? Math.Min(ctx.Profile.TrainImages, 4000) : 8000,
            Epochs = 1,
            Threads = 1,
        };
        var single = new Dictionary<NormKind, List<RunResult>>();
        var ranked = new Dictionary<NormKind, List<RunResult>>();
        foreach (var norm in new[] { NormKind.Layer, NormKind.Batch })
            single[norm] = seeds.Select(s => ctx.Runner.Run($"K-{Spelling.Of(norm)}-1x{global}-s{s}", Config(norm, s))).ToList();
        foreach (var norm in new[] { NormKind.Layer, NormKind.Batch, NormKind.SyncBatch })
            ranked[norm] = seeds.Select(s => ctx.Runner.RunDistributed($"K-{Spelling.Of(norm)}-{Ranks}x{PerRankBatch}-s{s}", Config(norm, s), Ranks)).ToList();

        double[] Errors(IEnumerable<RunResult> runs) => runs.Select(r => r.Summary.Diverged ? 1.0 : 1 - r.Summary.TestAccuracy).ToArray();
        Finding[] findings =
        [
            Finding.Judge($"LN test error, {Ranks} ranks × {PerRankBatch} − 1 process × {global}",
                PairedComparison.Of(EffectScale.Difference, "LN ranks", "LN one", seeds, Errors(ranked[NormKind.Layer]), Errors(single[NormKind.Layer])), Threshold.Within(LayerNormTolerance)),
            Finding.Judge($"BN test error, local statistics on {Ranks} ranks × {PerRankBatch} − 1 process × {global}",
                PairedComparison.Of(EffectScale.Difference, "BN ranks", "BN one", seeds, Errors(ranked[NormKind.Batch]), Errors(single[NormKind.Batch])), Threshold.AtLeast(BatchNormTolerance)),
            Finding.Judge($"SyncBN test error on {Ranks} ranks × {PerRankBatch} − BN 1 process × {global}",
                PairedComparison.Of(EffectScale.Difference, "SyncBN ranks", "BN one", seeds, Errors(ranked[NormKind.SyncBatch]), Errors(single[NormKind.Batch])), Threshold.Within(BatchNormTolerance)),
        ];

        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        void Row(string arm, IReadOnlyList<RunResult> runs, bool distributed)
        {
            double commMs = distributed ? Mean(runs.Select(r => Median(r.StepValues("comm_ms")))) : 0;
            double commBytes = distributed ? Mean(runs.Select(r => Median(r.StepValues("comm_bytes")))) : 0;
            double stepMs = Mean(runs.Select(r => Median(r.StepMilliseconds)));
            string key = arm.Replace(' ', '_');
            evidence[$"test_error.{key}"] = Stats.Mean(Errors(runs));
            evidence[$"step_ms.{key}"] = stepMs;
            if (distributed)
            {
                evidence[$"comm_ms_per_step.{key}"] = commMs;
                evidence[$"comm_bytes_per_step.{key}"] = commBytes;
            }
            rows.Add([arm, SuiteContext.MeanStd(Errors(runs)), SuiteContext.Num(stepMs, "F2"), distributed ? SuiteContext.Num(commMs, "F2") : "-", distributed ? SuiteContext.Num(commBytes / 1e6, "F3") : "-"]);
        }
        Row("LN 1x8", single[NormKind.Layer], false);
        Row("LN 2x4", ranked[NormKind.Layer], true);
        Row("BN 1x8", single[NormKind.Batch], false);
        Row("BN 2x4 local", ranked[NormKind.Batch], true);
        Row("SyncBN 2x4", ranked[NormKind.SyncBatch], true);

        var config = Config(NormKind.Layer, seeds[0]);
        return new ClaimResult
        {
            Id = "K",
            Title = "Layer normalization needs no communication between data-parallel ranks; batch normalization at a small per-rank batch degrades unless its statistics are synchronized",
            Setup = $"MLP 784-256-256-10 on {ctx.Dataset} ({config.TrainLimit} training images), Adam lr 1e-3, 1 epoch, global batch {global}: one process with batch {global} against {Ranks} MPI ranks (Open MPI, one thread each) of {PerRankBatch} samples each, whose gradients are summed every step; LN, BN with each rank's own statistics (running statistics updated from every rank's batch in rank order), and SyncBatchNorm (statistics and their gradient terms summed over the ranks); seeds {SuiteContext.SeedRange(seeds)}. Communication per step is measured on rank 0: time in collectives and bytes it contributed (gradients, and SyncBatchNorm's statistics).",
            Rule = $"three comparisons of test error: LN on ranks − LN in one process within ±{LayerNormTolerance}; local BN on ranks − BN in one process ≥ {BatchNormTolerance}; SyncBN on ranks − BN in one process within ±{BatchNormTolerance}; {VerdictRules.IntervalRule}. Supported when all three are, not supported when any is not.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("test error (mean ± sd over seeds), median step time and communication per step", ["arm", "test error", "step ms", "comm ms", "comm MB"], rows)],
            Figures = [],
        };
    }

    private static double Mean(IEnumerable<double> xs)
    {
        var list = xs.Where(double.IsFinite).ToList();
        return list.Count == 0 ? double.NaN : list.Average();
    }

    private static double Median(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) return double.NaN;
        var sorted = xs.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
