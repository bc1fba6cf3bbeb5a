using NormSharp.Experiments.Recipes;
using NormSharp.Kernels.Normalization;
using NormSharp.Layers;
using NormSharp.Tensors;
using NormSharp.Training;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// J (Zhang &amp; Sennrich 2019): RMSNorm, which drops LayerNorm's centring, trains a Transformer to comparable
/// quality in less time.
/// </summary>
public static class RmsNormClaim
{
    /// <summary>The claim's entry in the suite (it trains on the text corpus).</summary>
    public static ClaimDefinition Definition { get; } = new("J", ClaimSource.FollowUp, "RMSNorm trains a Transformer as well as LayerNorm in less time (Zhang & Sennrich 2019)", Run, ClaimInput.Text);

    /// <summary>Trains the RMSNorm arm beside claim H's Pre-LN LayerNorm runs, then times both models' steps and normalizations.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var p = ctx.Profile.LanguageModel;
        var seeds = ctx.SeedList("J");
        var ln = seeds.Select(s => WarmupClaim.PreLn(ctx, s)).ToList();
        var rms = seeds.Select(s => ctx.Runner.RunLanguageModel($"J-pre-rms-s{s}", LanguageModelArms.Transformer(ctx, s, NormPosition.Pre, NormKind.Rms, 0))).ToList();
        double[] Bits(List<LanguageModelRun> runs) => runs.Select(LanguageModelArms.FinalBits).ToArray();

        // Speed, measured apart from the training runs (whose wall time other work on the machine stretches):
        // processor time per step of the two models in alternating rounds, and of the two normalizations alone.
        var lnCase = new TransformerStepBenchmark.Case(p.DModel, p.Layers, p.Heads, p.Context, p.BatchSize, p.FeedForward, NormFirst: true, NormKind.Layer);
        var rmsCase = lnCase with { Norm = NormKind.Rms };
        var stepTimes = seeds.Select(s => TransformerStepBenchmark.CompareSteps(rmsCase, lnCase, p.TimingRounds, stepsPerRound: 3, seed: s)).ToList();
        var normTimes = seeds.Select(s => NormalizationTimes(p.BatchSize * p.Context, p.DModel, p.TimingRounds, s)).ToList();

        var findings = VerdictRules.RmsNormVsLayerNorm(seeds, Bits(rms), Bits(ln),
            stepTimes.Select(t => t.FirstMilliseconds).ToArray(), stepTimes.Select(t => t.SecondMilliseconds).ToArray(),
            normTimes.Select(t => t.Rms).ToArray(), normTimes.Select(t => t.Layer).ToArray());
        var evidence = new Dictionary<string, double>
        {
            ["validation_bpc.layer"] = Stats.Mean(Bits(ln)),
            ["validation_bpc.rms"] = Stats.Mean(Bits(rms)),
            ["step_cpu_ms.layer"] = Stats.Mean(stepTimes.Select(t => t.SecondMilliseconds)),
            ["step_cpu_ms.rms"] = Stats.Mean(stepTimes.Select(t => t.FirstMilliseconds)),
            ["norm_fwd_bwd_us.layer"] = Stats.Mean(normTimes.Select(t => t.Layer)),
            ["norm_fwd_bwd_us.rms"] = Stats.Mean(normTimes.Select(t => t.Rms)),
        };
        var rows = new List<string[]>
        {
            new[] { "LayerNorm", SuiteContext.MeanStd(Bits(ln), "F3"), SuiteContext.MeanStd(stepTimes.Select(t => t.SecondMilliseconds), "F1"), SuiteContext.MeanStd(normTimes.Select(t => t.Layer), "F0") },
            new[] { "RMSNorm", SuiteContext.MeanStd(Bits(rms), "F3"), SuiteContext.MeanStd(stepTimes.Select(t => t.FirstMilliseconds), "F1"), SuiteContext.MeanStd(normTimes.Select(t => t.Rms), "F0") },
        };
        return new ClaimResult
        {
            Id = "J",
            Title = "RMSNorm trains a Transformer as well as LayerNorm in less time (Zhang & Sennrich 2019)",
            Setup = $"The Pre-LN Transformer of claim H (its LayerNorm runs are shared) and the same model with RMSNorm in every block and at the end, seeds {SuiteContext.SeedRange(seeds)}. " +
                    $"Quality: bits per character on the whole validation text after {p.Steps} steps. Speed: processor time per training step (forward, backward, AdamW) of the two models, " +
                    $"{p.TimingRounds} alternating rounds of 3 steps per seed on random tokens, median; and of the normalizations alone (forward and backward over {p.BatchSize * p.Context} rows of {p.DModel}).",
            Rule = $"two judged comparisons per seed: validation bits per character, RMSNorm minus LayerNorm, within ±{VerdictRules.RmsQualityBand} (comparable quality); training-step time, RMSNorm over LayerNorm, ≤ {VerdictRules.RmsSpeedRatio}× (at least the paper's smallest saving, 7%); {VerdictRules.IntervalRule}. " +
                   "Reported, not judged: the normalization kernels' own time ratio.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("LayerNorm and RMSNorm in the same Transformer (mean ± sd over seeds)", ["norm", "validation bpc", "CPU ms per training step", "µs per normalization (fwd + bwd)"], rows)],
            Figures = [new Figure("J-validation", "J: validation bits per character during training (mean ± sd over seeds)", "step", "bits per character",
                [LanguageModelArms.Curve("LayerNorm", ln), LanguageModelArms.Curve("RMSNorm", rms)])],
        };
    }

    /// <summary>Microseconds of processor time for one forward and backward pass of each normalization over rows × cols, median of alternating rounds.</summary>
    private static (double Layer, double Rms) NormalizationTimes(int rows, int cols, int rounds, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[rows * cols];
        var dy = new float[rows * cols];
        var w = new float[cols];
        var b = new float[cols];
        rng.FillNormal(x, 0f, 1f);
        rng.FillNormal(dy, 0f, 1f);
        rng.FillUniform(w, 0.5f, 1.5f);
        var y = new float[rows * cols];
        var dx = new float[rows * cols];
        var mean = new float[rows];
        var rstd = new float[rows];
        var dw = new float[cols];
        var db = new float[cols];
        void Layer()
        {
            LayerNormKernels.Forward(x, w, b, y, mean, rstd, rows, cols, 1e-5f);
            LayerNormKernels.Backward(dy, x, w, mean, rstd, dx, dw, db, rows, cols);
        }
        void Rms()
        {
            RmsNormKernels.Forward(x, w, y, rstd, rows, cols, 1e-5f);
            RmsNormKernels.Backward(dy, x, w, rstd, dx, dw, rows, cols);
        }
        const int Repeats = 20;
        double Time(Action a)
        {
            var before = Environment.CpuUsage.TotalTime;
            for (int i = 0; i < Repeats; i++) a();
            return (Environment.CpuUsage.TotalTime - before).TotalMilliseconds * 1000 / Repeats;
        }
        Layer();
        Rms();
        var layer = new List<double>();
        var rms = new List<double>();
        for (int r = 0; r < Math.Max(3, rounds); r++)
        {
            layer.Add(Time(Layer));
            rms.Add(Time(Rms));
        }
        return (Stats.Median(layer), Stats.Median(rms));
    }
}
