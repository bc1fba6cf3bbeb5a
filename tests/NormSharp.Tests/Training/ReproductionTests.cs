using NormSharp.Cli.Reports;
using NormSharp.Data;
using NormSharp.Experiments;

namespace NormSharp.Tests.Training;

/// <summary>The verdict rules on synthetic numbers, and a tiny end-to-end reproduction.</summary>
public class VerdictRuleTests
{
    [Fact]
    public void BatchSizeIndependence()
    {
        Assert.Equal(Verdict.Supported, VerdictRules.BatchSizeIndependence(ln128: 0.05, ln4: 0.055, bn128: 0.04, bn4: 0.10));
        Assert.Equal(Verdict.NotSupported, VerdictRules.BatchSizeIndependence(ln128: 0.05, ln4: 0.12, bn128: 0.04, bn4: 0.10));
        Assert.Equal(Verdict.NotSupported, VerdictRules.BatchSizeIndependence(ln128: 0.05, ln4: 0.05, bn128: 0.04, bn4: 0.041));
        Assert.Equal(Verdict.Inconclusive, VerdictRules.BatchSizeIndependence(ln128: 0.05, ln4: 0.05, bn128: 0.04, bn4: 0.05));
    }

    [Fact]
    public void ConvergenceLearningRateGradientsSmoothnessRecurrentAndTable()
    {
        Assert.Equal(Verdict.Supported, VerdictRules.FasterConvergence(80, 100));
        Assert.Equal(Verdict.Inconclusive, VerdictRules.FasterConvergence(95, 100));
        Assert.Equal(Verdict.NotSupported, VerdictRules.FasterConvergence(100, 100));
        Assert.Equal(Verdict.Supported, VerdictRules.FasterConvergence(100, double.PositiveInfinity));
        Assert.Equal(Verdict.Inconclusive, VerdictRules.FasterConvergence(double.PositiveInfinity, double.PositiveInfinity));

        Assert.Equal(Verdict.Supported, VerdictRules.LargerLearningRates(1.0, 0.2, noneEverDiverged: true));
        Assert.Equal(Verdict.Inconclusive, VerdictRules.LargerLearningRates(1.0, 0.2, noneEverDiverged: false));
        Assert.Equal(Verdict.NotSupported, VerdictRules.LargerLearningRates(0.2, 0.2, noneEverDiverged: true));
        Assert.Equal(Verdict.Inconclusive, VerdictRules.LargerLearningRates(0.3, 0.2, noneEverDiverged: true));

        Assert.Equal(Verdict.Supported, VerdictRules.GradientFlow([(4.0, 1.0), (8.0, 0.5)]));
        Assert.Equal(Verdict.NotSupported, VerdictRules.GradientFlow([(4.0, 1.0), (0.5, 0.6)]));
        Assert.Equal(Verdict.Inconclusive, VerdictRules.GradientFlow([(4.0, 3.8)]));

        Assert.Equal(Verdict.Supported, VerdictRules.SmootherLoss(0.4, 0.6));
        Assert.Equal(Verdict.NotSupported, VerdictRules.SmootherLoss(0.7, 0.6));
        Assert.Equal(Verdict.Supported, VerdictRules.RecurrentStability(0.5, 1.0));
        Assert.Equal(Verdict.NotSupported, VerdictRules.RecurrentStability(1.1, 1.0));
        Assert.Equal(Verdict.Supported, VerdictRules.InvarianceTable([(true, true), (false, false)]));
        Assert.Equal(Verdict.NotSupported, VerdictRules.InvarianceTable([(true, false)]));
    }

    [Fact]
    public void CurveMeasuresOnSyntheticSeries()
    {
        var decaying = Enumerable.Range(0, 400).Select(i => 2.0 * Math.Exp(-i / 50.0)).ToArray();
        Assert.InRange(VerdictRules.StepsToTarget(decaying, 0.5), 60, 90);
        Assert.Equal(double.PositiveInfinity, VerdictRules.StepsToTarget(decaying, -1));
        var rng = new NormSharp.Tensors.Rng(1);
        var noisy = decaying.Select(v => v + 0.3 * rng.NextDouble()).ToArray();
        Assert.True(VerdictRules.Fluctuation(noisy) > VerdictRules.Fluctuation(decaying));
        var flat = Enumerable.Repeat(1.0, 200).ToArray();
        Assert.Equal(51, VerdictRules.PlateauStep(flat));
        Assert.True(double.IsPositiveInfinity(VerdictRules.PlateauStep(decaying.Take(60).ToArray())));
    }
}

public class ReproductionEndToEndTests
{
    private static readonly ExperimentProfile Tiny = ExperimentProfile.Quick with
    {
        Name = "tiny",
        TrainImages = 0,
        Hidden = [16],
        Epochs = 1,
        SweepRates = [1e-2, 1.0, 100.0],
        SweepImages = 128,
        DeepLayers = 4,
        DeepWidth = 8,
        RecurrentImages = 64,
        RecurrentEpochs = 1,
        RecurrentHidden = 8,
        AddingLength = 6,
    };

    [Fact]
    public void ATinyReproductionWritesEveryVerdictAndResumesWithoutRetraining()
    {
        using var dir = new TestData.TempDir();
        string data = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(data);
        TestData.WriteFolder(data, train: 160, test: 40);
        var split = IdxDatasetFolder.Load(data, "synthetic");
        string outDir = Path.Combine(dir.Path, "out");
        var runner = new ExperimentRunner(outDir, _ => split);
        var claims = ReproductionSuite.Run(new SuiteContext(Tiny, "mnist-digits", 3, runner));
        Assert.Equal(ReproductionSuite.ClaimIds, claims.Select(c => c.Id));
        Assert.All(claims, c => Assert.NotEmpty(c.Evidence));
        Assert.Equal(Verdict.Supported, claims.Single(c => c.Id == "G").Verdict);
        ReportWriter.Write(outDir, claims, new Dictionary<string, string> { ["profile"] = "tiny" });
        foreach (var f in new[] { "report.md", "report.html", "results.json", "figures/A-test-error.png", "figures/A-test-error.svg" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        var json = File.ReadAllText(Path.Combine(outDir, "results.json"));
        Assert.Contains("\"verdict\"", json);
        Assert.Contains("\"rule\"", json);
        runner.WriteIndex(Path.Combine(outDir, "runs.csv"));
        var index = File.ReadAllLines(Path.Combine(outDir, "runs.csv"));
        Assert.Equal(runner.Results.Select(r => r.Id).Distinct().Count() + 1, index.Length);
        Assert.All(index.Skip(1), line => Assert.True(File.Exists(Path.Combine(outDir, line.Split(',')[^1]))));
        int trained = runner.Trained;
        Assert.True(trained > 0);

        var again = new ExperimentRunner(outDir, _ => split);
        ReproductionSuite.Run(new SuiteContext(Tiny, "mnist-digits", 3, again), ["A"]);
        Assert.Equal(0, again.Trained);
        Assert.Equal(18, again.Reused);
    }
}

/// <summary>One run's failure never ends a suite: it is recorded with its reason, the claim is inconclusive, and the report is written.</summary>
public class FailedRunTests
{
    private static readonly ExperimentProfile Tiny = ExperimentProfile.Quick with { Name = "tiny", TrainImages = 0, Hidden = [16], Epochs = 1 };

    [Fact]
    public void AFailedRunIsRecordedWithItsReasonAndTheSuiteGoesOnToAReport()
    {
        using var dir = new TestData.TempDir();
        string data = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(data);
        TestData.WriteFolder(data, train: 160, test: 40);
        var split = IdxDatasetFolder.Load(data, "synthetic");
        string outDir = Path.Combine(dir.Path, "out");
        string doomed = Path.Combine(outDir, "runs", "A-batch-b4-s2") + Path.DirectorySeparatorChar;
        var runner = new ExperimentRunner(outDir, _ => split);
        IReadOnlyList<ClaimResult> claims;
        NormSharp.IO.WriteFaults.NoSpaceLeft = path => path.StartsWith(doomed, StringComparison.Ordinal) && path.EndsWith("metrics.csv", StringComparison.Ordinal);
        try
        {
            claims = ReproductionSuite.Run(new SuiteContext(Tiny, "mnist-digits", 2, runner), ["A"]);
        }
        finally
        {
            NormSharp.IO.WriteFaults.NoSpaceLeft = null;
        }
        var failed = Assert.Single(runner.Failures);
        Assert.Equal("A-batch-b4-s2", failed.Id);
        Assert.Equal("failed", failed.Outcome);
        Assert.Contains("No space left on device", failed.Failure);
        // The runs after the failed one still ran.
        Assert.True(runner.Results.ToList().FindIndex(r => r.Id == "A-batch-b4-s2") < runner.Results.Count - 1);

        var a = Assert.Single(claims);
        Assert.Equal(Verdict.Inconclusive, a.Verdict);
        Assert.Equal(1, a.Evidence["failed_runs"]);
        Assert.Contains(a.Tables, t => t.Title.StartsWith("Runs that failed") && t.Rows.Single()[0] == "A-batch-b4-s2");

        ReportWriter.Write(outDir, claims, new Dictionary<string, string> { ["profile"] = "tiny" }, runner.Failures);
        runner.WriteIndex(Path.Combine(outDir, "runs.csv"));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var recorded = Assert.Single(json.RootElement.GetProperty("failed_runs").EnumerateArray().ToList());
        Assert.Equal("A-batch-b4-s2", recorded.GetProperty("id").GetString());
        Assert.Contains("No space left on device", recorded.GetProperty("reason").GetString());
        Assert.Contains("## Runs that failed", File.ReadAllText(Path.Combine(outDir, "report.md")));
        Assert.Contains(File.ReadAllLines(Path.Combine(outDir, "runs.csv")), l => l.StartsWith("A-batch-b4-s2,") && l.Contains(",failed,"));

        // The next reproduction trains the failed run again and reuses the rest.
        var again = new ExperimentRunner(outDir, _ => split);
        var second = ReproductionSuite.Run(new SuiteContext(Tiny, "mnist-digits", 2, again), ["A"]);
        Assert.Equal(1, again.Trained);
        Assert.Empty(again.Failures);
        Assert.False(second.Single().Evidence.ContainsKey("failed_runs"));
    }

    [Fact]
    public void ADivergedRunIsAResultNotAFailure()
    {
        var config = new NormSharp.Experiments.Recipes.TrainingConfig();
        var summary = new NormSharp.Experiments.Recipes.RunSummary
        {
            Status = "diverged", Dataset = "d", Norm = "none", Model = "m", BatchSize = 1, Epochs = 0, Steps = 3,
            FinalTrainLoss = double.NaN, TestLoss = double.NaN, TestAccuracy = 0.1, SamplesPerSecond = 5, Diverged = true, StopReason = "the loss became NaN", Seed = 1, Threads = 1,
        };
        using var dir = new TestData.TempDir();
        var diverged = RunResult.Load("x", config, summary, Path.Combine(dir.Path, "missing.csv"));
        Assert.Null(diverged.Failure);
        Assert.Equal("diverged", diverged.Outcome);
        var bad = RunResult.Load("y", config, summary with { Status = "finished", Diverged = false }, Path.Combine(dir.Path, "missing.csv"));
        Assert.StartsWith("bad numbers", bad.Failure);
        Assert.Equal("failed", bad.Outcome);
    }
}
