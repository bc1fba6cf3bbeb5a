using NormSharp.Cli.Reports;
using NormSharp.Data;
using NormSharp.Experiments;

namespace NormSharp.Tests.Training;

/// <summary>The verdict rules on synthetic per-seed numbers.</summary>
public class VerdictRuleTests
{
    private static readonly ulong[] Seeds = [1, 2, 3, 4, 5];

    [Fact]
    public void BatchSizeIndependenceNeedsAllThreeIntervalsClear()
    {
        double[] ln128 = [0.050, 0.052, 0.049, 0.051, 0.050];
        double[] ln4 = [0.051, 0.053, 0.050, 0.050, 0.052];
        double[] bn128 = [0.040, 0.041, 0.039, 0.040, 0.042];
        double[] bn4 = [0.100, 0.095, 0.105, 0.098, 0.102];
        var supported = VerdictRules.BatchSizeIndependence(Seeds, ln128, ln4, bn128, bn4);
        Assert.Equal(3, supported.Count);
        Assert.Equal(Verdict.Supported, VerdictRules.Combine(supported));
        // LN loses five points at batch 4: its gap's interval lies wholly outside ±0.02.
        var lnDegrades = VerdictRules.BatchSizeIndependence(Seeds, ln128, ln4.Select(e => e + 0.05).ToArray(), bn128, bn4);
        Assert.Equal(Verdict.NotSupported, VerdictRules.Combine(lnDegrades));
        // BN's mean gap clears 0.02, but one seed in five says otherwise: the interval straddles the threshold.
        double[] noisyBn4 = [0.10, 0.03, 0.11, 0.09, 0.045];
        var noisy = VerdictRules.BatchSizeIndependence(Seeds, ln128, ln4, bn128, noisyBn4);
        Assert.True(noisy[1].Effect > VerdictRules.BatchSizeTolerance);
        Assert.Equal(Verdict.Inconclusive, noisy[1].Verdict);
        Assert.Equal(Verdict.Inconclusive, VerdictRules.Combine(noisy));
    }

    [Fact]
    public void RatioRulesJudgeTheGeometricMeanInterval()
    {
        double[] none = [100, 120, 90, 110, 105];
        Assert.Equal(Verdict.Supported, VerdictRules.FasterConvergence(Seeds, none.Select(v => 0.7 * v).ToArray(), none).Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.FasterConvergence(Seeds, none.Select(v => 1.05 * v).ToArray(), none).Verdict);
        Assert.Equal(Verdict.Inconclusive, VerdictRules.FasterConvergence(Seeds, [80, 130, 70, 115, 90], none).Verdict);
        Assert.Equal(Verdict.Supported, VerdictRules.SmootherLoss(Seeds, none.Select(v => 0.5 * v).ToArray(), none).Verdict);
        Assert.Equal(Verdict.Supported, VerdictRules.RecurrentSpeed(Seeds, none.Select(v => 0.8 * v).ToArray(), none).Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.RecurrentSpeed(Seeds, none, none).Verdict);
        Assert.Equal(Verdict.Supported, VerdictRules.Figure6(Seeds, 4, none.Select(v => 0.5 * v).ToArray(), none).Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.Figure6(Seeds, 128, none.Select(v => 1.3 * v).ToArray(), none).Verdict);
    }

    [Fact]
    public void GradientFlowJudgesEveryActivation()
    {
        var good = VerdictRules.GradientFlow(Seeds, [("tanh", [4.0, 4.2, 4.1, 3.9, 4.0], [1.0, 1.1, 0.9, 1.0, 1.2]), ("relu", [8.0, 8.1, 8.2, 7.9, 8.0], [0.6, 0.5, 0.7, 0.6, 0.6])]);
        Assert.Equal(Verdict.Supported, VerdictRules.Combine(good));
        var oneFails = VerdictRules.GradientFlow(Seeds, [("tanh", [4.0, 4.2, 4.1, 3.9, 4.0], [1.0, 1.1, 0.9, 1.0, 1.2]), ("relu", [0.5, 0.6, 0.5, 0.4, 0.5], [0.6, 0.7, 0.6, 0.6, 0.5])]);
        Assert.Equal(Verdict.NotSupported, VerdictRules.Combine(oneFails));
    }

    [Fact]
    public void TheInvarianceTableIsAnExactCheckWithoutInterval()
    {
        var agree = VerdictRules.InvarianceTable([(true, 1e-7), (false, 0.8), (true, 2e-7)]);
        Assert.Equal(Verdict.Supported, VerdictRules.Combine(agree));
        Assert.All(agree, f => Assert.True(double.IsNaN(f.CiLow)));
        Assert.Equal(1e-4 - 2e-7, agree[0].Margin, 1e-15);
        Assert.Equal(Verdict.NotSupported, VerdictRules.Combine(VerdictRules.InvarianceTable([(true, 3e-3), (false, 0.8)])));
        Assert.Equal(Verdict.NotSupported, VerdictRules.Combine(VerdictRules.InvarianceTable([(true, 1e-7), (false, 1e-6)])));
    }

    [Fact]
    public void CombiningFindingsAndPickingTheDecidingOne()
    {
        var a = VerdictRules.FasterConvergence(Seeds, [70, 84, 63, 77, 73.5], [100, 120, 90, 110, 105]);
        var b = VerdictRules.SmootherLoss(Seeds, [50, 60, 45, 55, 52.5], [100, 120, 90, 110, 105]);
        var reported = VerdictRules.BnLstmBaseline(Seeds, [0.9, 0.9, 0.9, 0.9, 0.9], [0.2, 0.2, 0.2, 0.2, 0.2]);
        Assert.False(reported.Judged);
        var claim = new ClaimResult { Id = "X", Title = "t", Setup = "s", Rule = "r", Evidence = new Dictionary<string, double>(), Findings = [a, b, reported], Seeds = Seeds };
        // The reported finding fails its threshold but does not decide; of two supported findings the narrower margin decides.
        Assert.Equal(Verdict.Supported, claim.Verdict);
        Assert.Same(a, claim.Deciding);
        Assert.Equal(a.Effect, claim.Effect);
        Assert.Equal(Verdict.Inconclusive, VerdictRules.Combine([reported]));
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
    /// <summary>Every claim on images at a size that trains in seconds (the text claims H–J have their own tiny test).</summary>
    internal static readonly ExperimentProfile Tiny = ExperimentProfile.Quick with
    {
        Name = "tiny",
        DefaultClaims = ReproductionSuite.Claims.Where(c => c.Input != ClaimInput.Text).Select(c => c.Id).ToArray(),
        TrainImages = 0,
        Hidden = [16],
        MlpNorms = ["none", "batch", "layer", "weight"],
        Epochs = 1,
        EvalLimit = 20,
        OnlineImages = 24,
        ConvergenceImages = 128,
        ConvergenceEpochs = 2,
        ConvergenceRates = [1e-3, 1e-2],
        SweepImages = 128,
        SgdRates = [1e-2, 1.0, 100.0],
        AdamRates = [1e-3, 1e-1, 10.0],
        DeepLayers = 4,
        DeepWidth = 8,
        DeepImages = 128,
        RecurrentImages = 64,
        RecurrentEpochs = 1,
        RecurrentHidden = 8,
        RecurrentBatchNormBaseline = true,
        AddingLength = 6,
        CopyDelay = 4,
        SyntheticSequences = 64,
        SyntheticEpochs = 1,
        SyntheticHidden = 8,
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
        // Without Open MPI's launcher the data-parallel claim is left out; the profile's selection leaves out H–J.
        Assert.Equal(Tiny.DefaultClaims.Except(ReproductionSuite.DistributedClaimIds), claims.Select(c => c.Id));
        Assert.DoesNotContain("H", claims.Select(c => c.Id));
        Assert.All(claims, c => Assert.NotEmpty(c.Evidence));
        Assert.Equal(Verdict.Supported, claims.Single(c => c.Id == "G").Verdict);
        // F scores the adding problem and the copy task at the trained length and at twice it, for every cell.
        var recurrent = claims.Single(c => c.Id == "F");
        foreach (var cell in new[] { "lstm", "ln-lstm", "bn-lstm" })
        {
            Assert.InRange(recurrent.Evidence[$"copy_accuracy_T.{cell}"], 0, 1);
            Assert.InRange(recurrent.Evidence[$"copy_accuracy_2T.{cell}"], 0, 1);
            Assert.True(recurrent.Evidence[$"adding_mse_2T.{cell}"] >= 0);
        }
        Assert.Contains(recurrent.Findings, x => x.Name.StartsWith("copy-task recall accuracy at delay 8", StringComparison.Ordinal) && !x.Judged);
        ReportWriter.Write(outDir, claims, new Dictionary<string, string> { ["profile"] = "tiny" });
        foreach (var f in new[] { "report.md", "report.html", "results.json", "figures/A-test-error.png", "figures/A-test-error.svg" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        foreach (var claim in json.RootElement.GetProperty("claims").EnumerateArray())
        {
            string id = claim.GetProperty("id").GetString()!;
            foreach (var field in new[] { "verdict", "rule", "effect", "ci_low", "ci_high", "margin", "seeds", "findings" })
                Assert.True(claim.TryGetProperty(field, out _), $"{id} lacks {field}");
            var seeds = claim.GetProperty("seeds").EnumerateArray().Select(s => s.GetUInt64()).ToArray();
            Assert.Equal(id == "G" ? [] : new ulong[] { 1, 2, 3 }, seeds);
            foreach (var finding in claim.GetProperty("findings").EnumerateArray())
                if (finding.GetProperty("comparison").ValueKind != System.Text.Json.JsonValueKind.Null)
                    Assert.Equal(3, finding.GetProperty("comparison").GetProperty("per_seed").GetArrayLength());
        }
        var report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("| claim | source | verdict | deciding comparison | effect | 95% interval | threshold | margin | seeds |", report);
        Assert.Contains("per-seed values", report);
        Assert.Contains("exact (deterministic)", report);
        runner.WriteIndex(Path.Combine(outDir, "runs.csv"));
        var index = File.ReadAllLines(Path.Combine(outDir, "runs.csv"));
        Assert.Equal(runner.Results.Select(r => r.Id).Distinct().Count() + 1, index.Length);
        Assert.All(index.Skip(1), line => Assert.True(File.Exists(Path.Combine(outDir, line.Split(',')[^1]))));
        int trained = runner.Trained;
        Assert.True(trained > 0);
        // Every run writes a checkpoint at each epoch's end; a finished run keeps its summary and model but not them.
        var finished = runner.Results.Where(r => r.Failure is null && !r.Summary.Diverged).DistinctBy(r => r.Id).ToList();
        Assert.NotEmpty(finished);
        Assert.All(finished, r => Assert.Empty(NormSharp.Training.CheckpointManager.List(runner.RunDirectory(r.Id))));
        Assert.All(finished.Where(r => r.Config.Model == NormSharp.Experiments.Recipes.ModelKind.Mlp), r => Assert.True(File.Exists(Path.Combine(runner.RunDirectory(r.Id), "model.safetensors")), r.Id));

        var again = new ExperimentRunner(outDir, _ => split);
        ReproductionSuite.Run(new SuiteContext(Tiny, "mnist-digits", 3, again), ["A"]);
        Assert.Equal(0, again.Trained);
        // A's runs: four normalizations at two batch sizes over three seeds, each read back once.
        Assert.Equal(24, again.Reused);
    }
}

/// <summary>One run's failure never ends a suite: it is recorded with its reason, the claim is inconclusive, and the report is written.</summary>
public class FailedRunTests
{
    private static readonly ExperimentProfile Tiny = ReproductionEndToEndTests.Tiny;

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
