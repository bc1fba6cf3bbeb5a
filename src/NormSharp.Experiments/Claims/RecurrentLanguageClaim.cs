using NormSharp.Layers.Recurrent;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// I: a layer-normalized LSTM learns a character-level language model faster than the LSTM at a matched budget
/// (the same steps, windows, hidden size and learning rate), as the paper's recurrent experiments find.
/// </summary>
public static class RecurrentLanguageClaim
{
    /// <summary>The claim's entry in the suite (it trains on the text corpus).</summary>
    public static ClaimDefinition Definition { get; } = new("I", ClaimSource.Paper, "the paper's recurrent claim on text: LN-LSTM learns a character-level language model faster than the LSTM at a matched budget", Run, ClaimInput.Text);

    /// <summary>Trains both cells for every seed and compares their validation curves.</summary>
    public static ClaimResult Run(SuiteContext ctx)
    {
        var p = ctx.Profile.LanguageModel;
        var seeds = ctx.SeedList("I");
        var lstm = seeds.Select(s => ctx.Runner.RunLanguageModel($"I-lstm-s{s}", LanguageModelArms.Recurrent(ctx, s, CellKind.Lstm))).ToList();
        var ln = seeds.Select(s => ctx.Runner.RunLanguageModel($"I-ln-lstm-s{s}", LanguageModelArms.Recurrent(ctx, s, CellKind.LnLstm))).ToList();
        double[] Area(List<LanguageModelRun> runs) => runs.Select(LanguageModelArms.MeanBits).ToArray();
        double[] Final(List<LanguageModelRun> runs) => runs.Select(LanguageModelArms.FinalBits).ToArray();
        var findings = VerdictRules.LnLstmLanguageModel(seeds, Area(ln), Area(lstm), Final(ln), Final(lstm));
        var evidence = new Dictionary<string, double>
        {
            ["mean_validation_bpc.lstm"] = Stats.Mean(Area(lstm)),
            ["mean_validation_bpc.ln-lstm"] = Stats.Mean(Area(ln)),
            ["final_validation_bpc.lstm"] = Stats.Mean(Final(lstm)),
            ["final_validation_bpc.ln-lstm"] = Stats.Mean(Final(ln)),
        };
        var rows = new List<string[]>
        {
            new[] { "LSTM", SuiteContext.MeanStd(Area(lstm), "F3"), SuiteContext.MeanStd(Final(lstm), "F3"), SuiteContext.Num(Stats.Mean(lstm.Select(r => r.Summary.TokensPerSecond)), "F0") },
            new[] { "LN-LSTM", SuiteContext.MeanStd(Area(ln), "F3"), SuiteContext.MeanStd(Final(ln), "F3"), SuiteContext.Num(Stats.Mean(ln.Select(r => r.Summary.TokensPerSecond)), "F0") },
        };
        return new ClaimResult
        {
            Id = "I",
            Title = "LN-LSTM learns a character-level language model faster than the LSTM at a matched budget",
            Setup = $"LSTM and LN-LSTM language models on {p.Corpus} (one layer of {p.RecurrentHidden} units over {p.RecurrentEmbedding}-wide character vectors, a linear output), " +
                    $"{p.Steps} steps of {p.BatchSize} windows of {p.Context} characters each from a zero state, AdamW at {p.RecurrentRate:G3}, seeds {SuiteContext.SeedRange(seeds)} (each seed: the same windows in both arms). " +
                    $"Validation bits per character every {p.EvalEvery} steps on the first {p.EvalWindows} validation windows, and on the whole validation text at the end.",
            Rule = $"judged: the mean validation bits per character over the run's evaluations (the area under the validation curve), LN-LSTM minus LSTM per seed, ≤ −{VerdictRules.LanguageModelGainBits}; {VerdictRules.IntervalRule}. Reported, not judged: the final scores' difference.",
            Findings = findings,
            Seeds = seeds,
            Evidence = evidence,
            Tables = [new ReportTable("LSTM and LN-LSTM language models (mean ± sd over seeds)", ["cell", "mean validation bpc over the run", "final validation bpc", "training characters/s"], rows)],
            Figures = [new Figure("I-validation", "I: validation bits per character against steps (mean ± sd over seeds)", "step", "bits per character",
                [LanguageModelArms.Curve("LSTM", lstm), LanguageModelArms.Curve("LN-LSTM", ln)])],
        };
    }
}
