using System.Globalization;
using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// M: layer normalization works in the pure online regime (batch size 1), which batch normalization does not allow:
/// the paper's argument that LN's statistics depend on one training case only.
/// </summary>
public static class OnlineLearningClaim
{
    /// <summary>The claim's entry in the suite.</summary>
    public static ClaimDefinition Definition { get; } = new("M", ClaimSource.Paper, "online learning: LN at batch size 1 (which BN cannot run)", Run);

    /// <summary>Trains LN at batch 1 and 128 and checks that batch normalization's output carries nothing of a single sample.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var seeds = ctx.SeedList("M");
        int images = ctx.TrainCount(ctx.Profile.OnlineImages);
        int[] batches = [1, 128];
        var runs = batches.ToDictionary(b => b, b => seeds.Select(s => ctx.Runner.Run($"M-layer-b{b}-s{s}", PaperMlpRuns.Config(ctx, "layer", b, s, images))).ToList());
        double[] Errors(int b) => runs[b].Select(PaperMlpRuns.TestError).ToArray();
        var (bnChange, lnChange, bnRefused) = SingleSampleSensitivity();
        var bnFinding = VerdictRules.BatchOfOne(bnChange);
        if (bnRefused is not null) bnFinding = bnFinding with { Note = $"batch normalization refuses a single-sample batch in training mode ({bnRefused}), as PyTorch does: counted as no change, since nothing of the sample can pass" };
        var findings = new List<Finding>
        {
            VerdictRules.OnlineLearning(seeds, Errors(1), Errors(128)),
            bnFinding,
            Finding.Exact("LN training-mode output change between two single-sample batches (relative)", lnChange, Statistics.Threshold.AtLeast(VerdictRules.BatchOfOneTolerance),
                "deterministic: exact float32 arithmetic on fixed inputs, no sampling noise, so no interval") with { Judged = false },
        };
        var evidence = new Dictionary<string, double>
        {
            ["test_error.layer.b1"] = Stats.Mean(Errors(1)),
            ["test_error.layer.b128"] = Stats.Mean(Errors(128)),
            ["bn_single_sample_change"] = bnChange,
            ["ln_single_sample_change"] = lnChange,
        };
        var rows = batches.Select(b => new[]
        {
            b.ToString(CultureInfo.InvariantCulture), SuiteContext.MeanStd(runs[b].Select(r => r.Summary.FinalTrainLoss)), SuiteContext.MeanStd(Errors(b)),
            runs[b].Count(r => r.Summary.Diverged).ToString(CultureInfo.InvariantCulture), SuiteContext.Num(Stats.Median(runs[b].Select(r => r.Summary.SamplesPerSecond)), "F0"),
        }).ToList();
        return new ClaimResult
        {
            Id = "M",
            Title = $"LN trains at batch size 1 (online learning) to a test error within ±{VerdictRules.BatchSizeTolerance:G2} of batch 128's, while BN's training-mode output at batch size 1 does not depend on the sample",
            Setup = $"MLP 784-{string.Join("-", ctx.Profile.Hidden)}-10 with LN on {ctx.DataText(ctx.Profile.OnlineImages)}, Adam lr 1e-3, {ctx.Profile.Epochs} epochs at batch 1 ({images * ctx.Profile.Epochs:N0} steps) and at batch 128, seeds {SuiteContext.SeedRange(seeds)} (each seed: the same initialization and data order). " +
                "Batch normalization at batch 1: a BatchNorm1d of 8 features in training mode (as it trains) is given two different single-sample batches (fixed draws); its output is compared. The training recipes refuse BN at batch size 1 for this reason, as PyTorch does.",
            Rule = $"LN's test error at batch 1 − at batch 128, per seed, within ±{VerdictRules.BatchSizeTolerance} (claim A's tolerance); {VerdictRules.IntervalRule}. And a deterministic check: BN's training-mode output changes by at most {VerdictRules.BatchOfOneTolerance:G2} of the inputs' change between the two single samples, or BN refuses such a batch (either way it cannot learn from one sample). Supported when both are. LN's output change on the same samples is reported for contrast.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("LN at batch 1 and 128: final training NLL and test error (mean ± sd over seeds), speed (median)", ["batch", "train NLL", "test error", "diverged", "samples/s"], rows)],
            Figures =
            [
                new Figure("M-test-error", $"M: LN's held-out error at batch 1 and 128 (mean ± sd over {seeds.Count} seeds)", "epoch", "held-out error (fraction misclassified)",
                    batches.Select(b => PaperMlpRuns.Curve($"LN b{b}", runs[b], PaperMlpRuns.ErrorCurve)).ToList(), LogY: true),
            ],
        };
    }

    /// <summary>
    /// The largest change of BN's and of LN's training-mode output between two different single-sample batches, relative
    /// to the largest change of their inputs. BN either computes (x − mean)/σ over the one sample, which is zero whatever
    /// the sample, or refuses the batch (then its change counts as 0 and the refusal's message is returned).
    /// </summary>
    public static (double BatchNorm, double LayerNorm, string? BatchNormRefused) SingleSampleSensitivity()
    {
        const int features = 8;
        var rng = new Rng(7);
        var x1 = Tensor.Zeros(1, features);
        var x2 = Tensor.Zeros(1, features);
        rng.FillNormal(x1.Span, 0, 1);
        rng.FillNormal(x2.Span, 0, 1);
        double inputChange = 0;
        for (int i = 0; i < features; i++) inputChange = Math.Max(inputChange, Math.Abs(x1[i] - x2[i]));
        double Change(Module norm)
        {
            norm.Train();
            using var _ = GradMode.NoGrad();
            var y1 = norm.Forward(Variable.Constant(x1)).Value;
            var y2 = norm.Forward(Variable.Constant(x2)).Value;
            double change = 0;
            for (int i = 0; i < features; i++) change = Math.Max(change, Math.Abs(y1[i] - y2[i]));
            return change / inputChange;
        }
        double ln = Change(new LayerNorm(features));
        try
        {
            return (Change(new BatchNorm1d(features)), ln, null);
        }
        catch (Errors.InvalidValueException e)
        {
            return (0, ln, e.Message);
        }
    }
}
