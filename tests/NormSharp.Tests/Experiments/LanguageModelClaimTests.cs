using NormSharp.Cli.Reports;
using NormSharp.Data.Text;
using NormSharp.Experiments;

namespace NormSharp.Tests.Experiments;

/// <summary>Claims H–J: their rules on synthetic numbers, and a tiny run of all three on the shipped sample text.</summary>
public class LanguageModelClaimTests
{
    private static readonly ulong[] Seeds = [1, 2, 3, 4, 5];

    [Fact]
    public void WarmupRulesJudgeFailureAndRescueSeparately()
    {
        double[] pre = [3.60, 3.55, 3.62, 3.58, 3.61];
        double[] post = [4.77, 4.75, 4.78, 4.76, 4.77];
        double[] warm = [3.40, 3.35, 3.42, 3.38, 3.41];
        double[] ratio = [1, 1, 1, 1, 1];
        var findings = VerdictRules.WarmupRescuesPostLn(Seeds, pre, post, warm, ratio, ratio.Select(r => 3 * r).ToArray());
        Assert.Equal(Verdict.Supported, VerdictRules.Combine(findings));
        Assert.Equal(2, findings.Count(f => f.Judged));
        // Post-LN trains as well as Pre-LN: the failure finding is not supported.
        var trains = VerdictRules.WarmupRescuesPostLn(Seeds, pre, pre.Select(b => b - 0.1).ToArray(), warm, ratio, ratio);
        Assert.Equal(Verdict.NotSupported, trains[0].Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.Combine(trains));
        // One seed of five fails, the others train: the interval straddles the margin.
        var mixed = VerdictRules.WarmupRescuesPostLn(Seeds, pre, [4.77, 3.5, 3.5, 3.6, 3.55], warm, ratio, ratio);
        Assert.Equal(Verdict.Inconclusive, mixed[0].Verdict);
    }

    [Fact]
    public void RmsNormNeedsComparableBitsAndAFasterStep()
    {
        double[] layer = [3.60, 3.55, 3.62, 3.58, 3.61];
        double[] step = [100, 101, 99, 100, 102];
        var same = VerdictRules.RmsNormVsLayerNorm(Seeds, layer.Select(b => b + 0.01).ToArray(), layer, step.Select(t => 0.8 * t).ToArray(), step, [50, 50, 50, 50, 50], [60, 60, 60, 60, 60]);
        Assert.Equal(Verdict.Supported, VerdictRules.Combine(same));
        var notFaster = VerdictRules.RmsNormVsLayerNorm(Seeds, layer, layer, step.Select(t => 0.99 * t).ToArray(), step, [50, 50, 50, 50, 50], [60, 60, 60, 60, 60]);
        Assert.Equal(Verdict.NotSupported, notFaster[1].Verdict);
        Assert.False(notFaster[2].Judged);
        var worse = VerdictRules.RmsNormVsLayerNorm(Seeds, layer.Select(b => b + 0.3).ToArray(), layer, step, step, step, step);
        Assert.Equal(Verdict.NotSupported, worse[0].Verdict);
    }

    [Fact]
    public void LnLstmMustLowerTheAreaUnderItsValidationCurve()
    {
        double[] lstm = [3.9, 3.95, 3.92, 3.88, 3.91];
        Assert.Equal(Verdict.Supported, VerdictRules.Combine(VerdictRules.LnLstmLanguageModel(Seeds, lstm.Select(b => b - 0.2).ToArray(), lstm, lstm, lstm)));
        Assert.Equal(Verdict.NotSupported, VerdictRules.Combine(VerdictRules.LnLstmLanguageModel(Seeds, lstm.Select(b => b + 0.05).ToArray(), lstm, lstm, lstm)));
    }

    [Fact]
    public void TheLanguageModelClaimsRunOnATextCorpusAndResumeWithoutRetraining()
    {
        var sample = TextCorpus.FromEntries("sample", FortunesCorpus.Entries(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "text", "sample-fortunes"))).ToList());
        var tiny = ExperimentProfile.Quick with
        {
            Name = "tiny",
            LanguageModel = ExperimentProfile.Quick.LanguageModel with
            {
                Corpus = "sample", Steps = 12, Context = 16, BatchSize = 4, DModel = 8, Layers = 2, Heads = 2, FeedForward = 16,
                WarmupSteps = 4, RecurrentHidden = 8, RecurrentEmbedding = 4, EvalEvery = 4, EvalWindows = 4, TimingRounds = 1,
            },
        };
        using var dir = new TestData.TempDir();
        string outDir = Path.Combine(dir.Path, "out");
        var runner = new ExperimentRunner(outDir, _ => throw new InvalidOperationException("no image claim runs here")) { LoadText = _ => sample };
        var claims = ReproductionSuite.Run(new SuiteContext(tiny, "mnist-digits", 2, runner) { Threads = 2 }, ["H", "I", "J"]);
        Assert.Equal(["H", "I", "J"], claims.Select(c => c.Id));
        foreach (var c in claims)
        {
            Assert.NotEmpty(c.Evidence);
            Assert.Contains(c.Findings, f => f.Judged);
            Assert.All(c.Findings.Where(f => f.Comparison is not null), f => Assert.Equal(2, f.Comparison!.PerSeed.Count));
        }
        // H and J share the Pre-LN LayerNorm runs: 3 arms of H, 1 of J and 2 of I per seed.
        Assert.Equal(12, runner.Trained);
        ReportWriter.Write(outDir, claims, new Dictionary<string, string> { ["profile"] = "tiny" });
        Assert.True(File.Exists(Path.Combine(outDir, "figures", "H-validation.png")));
        Assert.Contains("Post-LN", File.ReadAllText(Path.Combine(outDir, "report.md")));

        var again = new ExperimentRunner(outDir, _ => throw new InvalidOperationException()) { LoadText = _ => sample };
        ReproductionSuite.Run(new SuiteContext(tiny, "mnist-digits", 2, again) { Threads = 2 }, ["H"]);
        Assert.Equal(0, again.Trained);
        Assert.Equal(6, again.Reused);
    }
}
