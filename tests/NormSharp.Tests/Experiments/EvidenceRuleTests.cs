using NormSharp.Experiments;
using NormSharp.Experiments.Claims;
using NormSharp.Experiments.Statistics;

namespace NormSharp.Tests.Experiments;

/// <summary>The measurements and rules of the claims on synthetic numbers.</summary>
public class EvidenceRuleTests
{
    private static readonly ulong[] Seeds = [1, 2, 3, 4, 5];
    private static readonly double[] HalfDecades = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0];

    [Fact]
    public void TheWindowOfWorkingRatesIsContiguousAroundTheBest()
    {
        // Best at 3e-2 (0.10); 1e-2 and 0.1 are within 1.5×; 3e-3 (0.2) is not, so 1e-3 (0.14) does not count either.
        double[] losses = [0.14, 0.2, 0.12, 0.10, 0.149, 2.3, double.PositiveInfinity];
        var w = VerdictRules.WorkingWindow(HalfDecades, losses);
        Assert.Equal(3, w.Best);
        Assert.Equal((2, 4), (w.Low, w.High));
        Assert.Equal(Math.Log10(0.1 / 1e-2) + Math.Log10(3), w.Decades, 1e-12);
        Assert.False(w.Censored);
        Assert.True(w.Contains(4) && !w.Contains(0));
        // A window at the edge of the grid is censored; a sweep without a finite loss has no window.
        Assert.True(VerdictRules.WorkingWindow(HalfDecades, [0.1, 0.11, 0.5, 1, 2, 3, 4]).Censored);
        Assert.Equal(0, VerdictRules.WorkingWindow(HalfDecades, Enumerable.Repeat(double.PositiveInfinity, 7).ToArray()).Decades);
    }

    [Fact]
    public void ACensoredWindowCannotDecideAgainstItsSide()
    {
        double[] wide = [1.5, 1.5, 2.0, 1.5, 1.5];
        double[] narrow = [0.5, 0.5, 0.5, 0.5, 0.5];
        bool[] none = [false, false, false, false, false];
        bool[] one = [false, true, false, false, false];
        Assert.Equal(Verdict.Supported, VerdictRules.RateWindow(Seeds, "SGD", wide, narrow, none, none).Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.RateWindow(Seeds, "SGD", narrow, narrow, none, none).Verdict);
        // The unnormalized net's window reaches the grid's end: its true width is unknown, so LN's cannot be shown wider.
        Assert.Equal(Verdict.Inconclusive, VerdictRules.RateWindow(Seeds, "SGD", wide, narrow, none, one).Verdict);
        // LN's window reaches the end: it may be wider than measured, so "not supported" is not shown.
        Assert.Equal(Verdict.Inconclusive, VerdictRules.RateWindow(Seeds, "Adam", narrow, narrow, one, none).Verdict);
    }

    [Fact]
    public void StepsToAnAccuracyTargetInterpolateBetweenChecks()
    {
        double[] steps = [10, 20, 30];
        double[] accuracy = [0.5, 0.7, 0.9];
        Assert.Equal(15, VerdictRules.StepsToAccuracy(steps, accuracy, 0.6, 0.1), 1e-12);
        // Before the first check: from step 0 at chance accuracy.
        Assert.Equal(5, VerdictRules.StepsToAccuracy(steps, accuracy, 0.3, 0.1), 1e-12);
        Assert.Equal(30, VerdictRules.StepsToAccuracy(steps, accuracy, 0.9, 0.1), 1e-12);
        Assert.Equal(double.PositiveInfinity, VerdictRules.StepsToAccuracy(steps, accuracy, 0.95, 0.1));
    }

    [Fact]
    public void TheConvergenceDetectorFiresOnAPlateauAndMeasuresItsDistanceToTheBestCheck()
    {
        var steps = Enumerable.Range(1, 40).Select(i => 10.0 * i).ToArray();
        // Falls to its minimum at check 12, then rises slowly: the detector fires after the plateau.
        var loss = steps.Select((_, i) => i < 12 ? 1.0 - 0.07 * i : 0.23 + 0.01 * (i - 11)).ToArray();
        var (stop, fired, distance) = VerdictRules.Detector(steps, loss, runSteps: 400);
        Assert.True(fired);
        Assert.InRange(stop, 120, 250);
        Assert.Equal(Math.Abs(stop - 120) / 400, distance, 1e-12);
        // Still falling: it never fires and the run ends at its last check.
        var falling = steps.Select((_, i) => 2.0 * Math.Exp(-i / 5.0)).ToArray();
        var never = VerdictRules.Detector(steps, falling, 400);
        Assert.False(never.Fired);
        Assert.Equal(400, never.StopStep);
        Assert.Equal(0, never.Distance);
    }

    [Fact]
    public void OnlineLearningAndFinalAccuracyRules()
    {
        Assert.Equal(Verdict.Supported, VerdictRules.OnlineLearning(Seeds, [0.06, 0.061, 0.059, 0.06, 0.062], [0.05, 0.052, 0.05, 0.051, 0.05]).Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.OnlineLearning(Seeds, [0.2, 0.21, 0.19, 0.2, 0.22], [0.05, 0.052, 0.05, 0.051, 0.05]).Verdict);
        // Non-inferiority: LN-LSTM half a point below the LSTM still passes; three points below does not.
        Assert.Equal(Verdict.Supported, VerdictRules.RecurrentFinalAccuracy(Seeds, [0.975, 0.976, 0.974, 0.975, 0.975], [0.98, 0.981, 0.979, 0.98, 0.98]).Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.RecurrentFinalAccuracy(Seeds, [0.95, 0.951, 0.949, 0.95, 0.95], [0.98, 0.981, 0.979, 0.98, 0.98]).Verdict);
        Assert.Equal(Verdict.Supported, VerdictRules.BatchOfOne(0).Verdict);
        Assert.Equal(Verdict.NotSupported, VerdictRules.BatchOfOne(0.3).Verdict);
    }

    [Fact]
    public void BatchNormalizationPassesNothingOfASingleSampleWhileLayerNormalizationDoes()
    {
        var (bn, ln, refused) = OnlineLearningClaim.SingleSampleSensitivity();
        Assert.Equal(0, bn);
        Assert.NotNull(refused);
        Assert.True(ln > 0.1, $"LN's output change {ln}");
    }

    [Fact]
    public void AMeanIntervalCoversTheMeanAndNeedsTwoFiniteValues()
    {
        var m = MeanInterval.Of([1.0, 2.0, 3.0]);
        Assert.Equal(2, m.Mean);
        Assert.Equal(2 - 4.302652729749464 / Math.Sqrt(3), m.Low, 1e-9);
        Assert.True(double.IsNaN(MeanInterval.Of([1.0]).Low));
        Assert.True(double.IsNaN(MeanInterval.Of([1.0, double.PositiveInfinity]).High));
    }

    [Fact]
    public void StepTimeDriftComparesBlockMediansWithTheFirstBlock()
    {
        var flat = Enumerable.Range(0, 2000).Select(i => 5.0 + (i % 7 == 0 ? 40 : 0)).ToArray();
        Assert.Equal(4, RunTimings.BlockMedians(flat).Length);
        Assert.Equal(1, RunTimings.Drift(flat), 1e-12);
        var slowing = Enumerable.Range(0, 1500).Select(i => i < 500 ? 5.0 : 25.0).ToArray();
        Assert.Equal(5, RunTimings.Drift(slowing), 1e-12);
        Assert.True(double.IsNaN(RunTimings.Drift(flat.Take(900).ToArray())));
        Assert.Equal("A-layer-b4", RunTimings.Group("A-layer-b4-s12"));
        Assert.Equal("BE-none-lr0.001", RunTimings.Group("BE-none-lr0.001-tune"));
    }

    [Fact]
    public void SmallBatchDriftIsJudgedOnCpuTimeSoOtherWorkTakingTheCoreDoesNotCount()
    {
        using var dir = new TestData.TempDir();
        var config = new NormSharp.Experiments.Recipes.TrainingConfig { BatchSize = 4 };
        var summary = new NormSharp.Experiments.Recipes.RunSummary
        {
            Dataset = "d", Norm = "layer", Model = "mlp", BatchSize = 4, Epochs = 1, Steps = 1500, FinalTrainLoss = 0.1, TestLoss = 0.1,
            TestAccuracy = 0.9, SamplesPerSecond = 1, Diverged = false, Seed = 1, Threads = 1,
        };
        RunResult Run(string id, Func<int, double> wall, Func<int, double> cpu, long? subnormal = null, Func<int, double>? share = null)
        {
            string path = Path.Combine(dir.Path, id + ".csv");
            var lines = new List<string> { string.Join(",", NormSharp.Training.MetricsCsvLogger.BaseColumns) + ",worker_share" };
            for (int i = 0; i < 1500; i++)
                lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"step,0,{i + 1},0.5,,0.001,1,{wall(i)},{cpu(i)},,,{(share is null ? "" : share(i))}"));
            File.WriteAllLines(path, lines);
            return RunResult.Load(id, config, summary with { SubnormalValues = subnormal }, path);
        }
        // Wall time doubles in the last block (another process took the core); the thread's CPU time does not.
        var loaded = Run("A-layer-b4-s1", i => i < 1000 ? 5 : 10, _ => 4, subnormal: 0);
        // Both rise fivefold: the arithmetic itself slowed down (subnormals).
        var slowed = Run("A-none-b4-s1", i => i < 500 ? 5 : 25, i => i < 500 ? 4 : 20, subnormal: 209_271);
        // Twice as slow with the workers gone: the machine took the second core.
        var alone = Run("A-layer-b4-s2", i => i < 500 ? 5 : 10, i => i < 500 ? 4 : 8, subnormal: 0, share: i => i < 500 ? 0.5 : 0.0);
        var table = RunTimings.SmallBatchDrift([loaded, slowed, alone]);
        var byRun = table.Rows.ToDictionary(r => r[0]);
        Assert.Equal("2.00", byRun["A-layer-b4-s1"][3]);
        Assert.Equal("1.00", byRun["A-layer-b4-s1"][6]);
        Assert.Equal("yes", byRun["A-layer-b4-s1"][7]);
        Assert.Equal("5.00", byRun["A-none-b4-s1"][6]);
        Assert.Equal("no", byRun["A-none-b4-s1"][7]);
        // The census beside the timings names the usual cause.
        Assert.Equal("0", byRun["A-layer-b4-s1"][8]);
        Assert.Equal("209,271", byRun["A-none-b4-s1"][8]);
        // And the worker share beside them tells a machine that withdrew a core from a slower step.
        Assert.Equal("2.00", byRun["A-layer-b4-s2"][6]);
        Assert.Equal("0.50 → 0.00", byRun["A-layer-b4-s2"][9]);
        Assert.Equal("-", byRun["A-none-b4-s1"][9]);
    }
}
