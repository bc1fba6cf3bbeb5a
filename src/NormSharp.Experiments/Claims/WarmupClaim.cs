using NormSharp.Experiments.Recipes;
using NormSharp.Layers;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// H (Xiong et al. 2020): at a learning rate where a Pre-LN Transformer trains, the Post-LN Transformer without a
/// learning-rate warm-up fails (diverges, or ends far worse), and a warm-up rescues it; at initialization the
/// gradients of Post-LN's last blocks are large while Pre-LN's stay level through depth.
/// </summary>
public static class WarmupClaim
{
    /// <summary>The claim's entry in the suite (it trains on the text corpus).</summary>
    public static ClaimDefinition Definition { get; } = new("H", ClaimSource.FollowUp, "Post-LN Transformers need a learning-rate warm-up where Pre-LN ones train without one (Xiong et al. 2020)", Run, ClaimInput.Text);

    /// <summary>The run of Pre-LN, Post-LN and warmed-up Post-LN for one seed (shared with claim J).</summary>
    internal static LanguageModelRun PreLn(SuiteContext ctx, ulong seed) =>
        ctx.Runner.RunLanguageModel($"H-pre-ln-s{seed}", LanguageModelArms.Transformer(ctx, seed, NormPosition.Pre, NormKind.Layer, 0));

    /// <summary>Trains the three arms for every seed and judges the two comparisons.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var p = ctx.Profile.LanguageModel;
        var seeds = ctx.SeedList("H");
        var pre = seeds.Select(s => PreLn(ctx, s)).ToList();
        var post = seeds.Select(s => ctx.Runner.RunLanguageModel($"H-post-ln-s{s}", LanguageModelArms.Transformer(ctx, s, NormPosition.Post, NormKind.Layer, 0))).ToList();
        var warm = seeds.Select(s => ctx.Runner.RunLanguageModel($"H-post-ln-warmup-s{s}", LanguageModelArms.Transformer(ctx, s, NormPosition.Post, NormKind.Layer, p.WarmupSteps))).ToList();
        double[] Bits(List<LanguageModelRun> runs) => runs.Select(LanguageModelArms.FinalBits).ToArray();

        // Xiong et al.'s analysis: the gradient of each block's last feed-forward weight (linear2) at initialization,
        // read from the first step of each run (before any update).
        double[] InitialNorms(LanguageModelRun run) =>
            Enumerable.Range(0, p.Layers).Select(l => run.Curves.GroupGradNorms.TryGetValue($"layers.{l}.linear2", out var g) ? g.First : double.NaN).ToArray();
        double LastOverFirst(LanguageModelRun run)
        {
            var n = InitialNorms(run);
            return n[^1] / n[0];
        }
        var preNorms = Stats.Band(pre.Select(InitialNorms).ToList()).Mean;
        var postNorms = Stats.Band(post.Select(InitialNorms).ToList()).Mean;

        var findings = VerdictRules.WarmupRescuesPostLn(seeds, Bits(pre), Bits(post), Bits(warm), pre.Select(LastOverFirst).ToArray(), post.Select(LastOverFirst).ToArray());
        var evidence = new Dictionary<string, double>
        {
            ["validation_bpc.pre_ln"] = Stats.Mean(Bits(pre)),
            ["validation_bpc.post_ln"] = Stats.Mean(Bits(post)),
            ["validation_bpc.post_ln_warmup"] = Stats.Mean(Bits(warm)),
            ["diverged.post_ln"] = post.Count(r => r.Summary.Diverged),
            ["init_grad_last_over_first.pre_ln"] = Stats.Mean(pre.Select(LastOverFirst)),
            ["init_grad_last_over_first.post_ln"] = Stats.Mean(post.Select(LastOverFirst)),
        };
        var rows = new List<string[]>
        {
            Row("Pre-LN, no warm-up", pre),
            Row("Post-LN, no warm-up", post),
            Row($"Post-LN, {p.WarmupSteps} warm-up steps", warm),
        };
        var gradRows = Enumerable.Range(0, p.Layers).Select(l => new[] { $"layers.{l}.linear2", SuiteContext.Num(preNorms[l], "G3"), SuiteContext.Num(postNorms[l], "G3") }).ToList();
        return new ClaimResult
        {
            Id = "H",
            Title = "Post-LN Transformers need a learning-rate warm-up where Pre-LN ones train without one (Xiong et al. 2020)",
            Setup = $"Character-level Transformer language models on {p.Corpus} ({p.Layers} blocks, d_model {p.DModel}, {p.Heads} heads, feed-forward {p.FeedForward}, GELU, LayerNorm), " +
                    $"{p.Steps} steps of {p.BatchSize} windows of {p.Context} characters, AdamW at {p.TransformerRate:G3} (constant after any warm-up), seeds {SuiteContext.SeedRange(seeds)} " +
                    $"(each seed: the same data order and initialization scheme in every arm). Arms: Pre-LN (a final norm after the blocks), Post-LN, and Post-LN with a linear warm-up over {p.WarmupSteps} steps. " +
                    "Scored by bits per character on the whole validation text after the last step; a diverged run counts as uniform guessing over the vocabulary.",
            Rule = $"two judged comparisons, each per seed as a difference in validation bits per character: Post-LN without warm-up minus Pre-LN ≥ {VerdictRules.WarmupFailureBits} (Post-LN fails where Pre-LN trains), and Post-LN without warm-up minus Post-LN with warm-up ≥ {VerdictRules.WarmupFailureBits} (warm-up rescues it); {VerdictRules.IntervalRule}. " +
                   "Reported, not judged: warmed-up Post-LN against Pre-LN, and the ratio of the last block's to the first block's linear2 gradient norm at the first step, Post-LN over Pre-LN.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables =
            [
                new ReportTable("validation bits per character (mean ± sd over seeds)", ["arm", "final validation bpc", "diverged runs", "training characters/s"], rows),
                new ReportTable("gradient norm of each block's linear2 weight at the first step (mean over seeds)", ["parameter", "Pre-LN", "Post-LN"], gradRows),
            ],
            Figures =
            [
                new Figure("H-validation", "H: validation bits per character during training (mean ± sd over seeds)", "step", "bits per character",
                    [LanguageModelArms.Curve("Pre-LN", pre), LanguageModelArms.Curve("Post-LN", post), LanguageModelArms.Curve("Post-LN + warm-up", warm)]),
                new Figure("H-init-gradients", "H: gradient norm of each block's linear2 at initialization", "block", "gradient norm",
                    [new Series("Pre-LN", Enumerable.Range(0, p.Layers).Select(l => (double)l).ToArray(), preNorms), new Series("Post-LN", Enumerable.Range(0, p.Layers).Select(l => (double)l).ToArray(), postNorms)], LogY: true),
            ],
        };
    }

    private static string[] Row(string arm, List<LanguageModelRun> runs) =>
    [
        arm,
        SuiteContext.MeanStd(runs.Select(LanguageModelArms.FinalBits), "F3"),
        runs.Count(r => r.Summary.Diverged).ToString(System.Globalization.CultureInfo.InvariantCulture),
        SuiteContext.Num(Stats.Mean(runs.Select(r => r.Summary.TokensPerSecond)), "F0"),
    ];
}
