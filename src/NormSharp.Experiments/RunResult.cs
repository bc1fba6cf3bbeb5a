using System.Globalization;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments;

/// <summary>
/// A training run as an experiment sees it: its summary and the curves read back from its metrics. A run that
/// failed (it ended with an error, or finished with numbers that are not numbers) carries the reason in
/// <see cref="Failure"/> and whatever curves it logged before it failed.
/// </summary>
public sealed record RunResult
{
    /// <summary>Why the run failed, or null when it did not (a diverged run has not failed: divergence is a result).</summary>
    public string? Failure { get; init; }

    /// <summary>How the run ended: <c>finished</c>, <c>diverged</c>, or <c>failed</c> (an error or bad numbers).</summary>
    public string Outcome => Failure is not null ? RunSummary.Failed : Summary.Status;

    /// <summary>The run's identifier inside the experiment folder.</summary>
    public required string Id { get; init; }

    /// <summary>The configuration it ran with.</summary>
    public required TrainingConfig Config { get; init; }

    /// <summary>Its summary.</summary>
    public required RunSummary Summary { get; init; }

    /// <summary>Training loss of every step.</summary>
    public required double[] StepLoss { get; init; }

    /// <summary>Wall milliseconds of every step.</summary>
    public required double[] StepMilliseconds { get; init; }

    /// <summary>CPU time of the training thread per step, milliseconds (<c>step_cpu_ms</c>; empty for runs logged before it existed).</summary>
    public double[] StepCpuMilliseconds { get; init; } = [];

    /// <summary>Mean training loss of every epoch.</summary>
    public required double[] EpochTrainLoss { get; init; }

    /// <summary>Test loss after every epoch.</summary>
    public required double[] EpochTestLoss { get; init; }

    /// <summary>Test error (1 − accuracy) after every epoch.</summary>
    public required double[] EpochTestError { get; init; }

    /// <summary>Steps at which the held-out loss was measured between epochs (<see cref="TrainingConfig.EvalEvery"/>).</summary>
    public required double[] EvalSteps { get; init; }

    /// <summary>Held-out loss at those steps.</summary>
    public required double[] EvalLoss { get; init; }

    /// <summary>Held-out error (1 − accuracy) at those steps.</summary>
    public double[] EvalError { get; init; } = [];

    /// <summary>
    /// Per layer, the weight norm ‖W‖ and relative update ‖ΔW‖/‖W‖ at the steps they were measured
    /// (<see cref="Recipes.TrainingConfig.WeightMetricsEvery"/>); empty when they were not logged.
    /// </summary>
    public IReadOnlyDictionary<string, WeightSeries> Weights { get; init; } = new Dictionary<string, WeightSeries>();

    /// <summary>Per-layer gradient norms of the first and the last step, by parameter group.</summary>
    public required IReadOnlyDictionary<string, (double First, double Last)> GroupGradNorms { get; init; }

    /// <summary>Mean hidden-state norm per time step at the last step (recurrent runs), else empty.</summary>
    public required double[] HiddenNorms { get; init; }

    /// <summary>Every step's value of a metrics column (<c>comm_ms</c>, say); empty when the run did not log it.</summary>
    public double[] StepValues(string column) => StepColumns.TryGetValue(column, out var values) ? values : [];

    /// <summary>The metrics columns of every step row, by column name.</summary>
    private IReadOnlyDictionary<string, double[]> StepColumns { get; init; } = new Dictionary<string, double[]>();

    /// <summary>A run that ended with an error (<paramref name="reason"/>), with the curves it logged before, if any.</summary>
    public static RunResult Failed(string id, TrainingConfig config, string reason, string metricsPath)
    {
        var summary = new RunSummary
        {
            Status = RunSummary.Failed,
            Dataset = config.Dataset, Norm = Spelling.Of(config.Norm), Model = Spelling.Of(config.Model), BatchSize = config.BatchSize,
            Epochs = 0, Steps = 0, FinalTrainLoss = double.NaN, TestLoss = double.NaN, TestAccuracy = double.NaN, SamplesPerSecond = 0,
            Diverged = false, StopReason = reason, Seed = config.Seed, Threads = config.Threads,
        };
        RunResult curves;
        try
        {
            curves = Load(id, config, summary, metricsPath);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            curves = Load(id, config, summary, lines: []);
        }
        return curves with { Failure = reason, Summary = summary with { Steps = curves.StepLoss.Length } };
    }

    /// <summary>Why a run that ended without an error still cannot be used, or null.</summary>
    private static string? BadNumbers(RunSummary s)
    {
        if (s.Status == RunSummary.Failed) return s.StopReason ?? "failed";
        if (s.Status != RunSummary.Finished) return null;
        if (!double.IsFinite(s.FinalTrainLoss)) return $"bad numbers: the final training loss is {s.FinalTrainLoss} although the run was not stopped as diverged";
        if (!double.IsFinite(s.TestLoss) || double.IsNaN(s.TestAccuracy)) return $"bad numbers: the test loss is {s.TestLoss} and the test accuracy {s.TestAccuracy}";
        return null;
    }

    /// <summary>Reads a run folder written by the trainer (a missing metrics file gives empty curves).</summary>
    public static RunResult Load(string id, TrainingConfig config, RunSummary summary, string metricsPath) =>
        Load(id, config, summary, File.Exists(metricsPath) ? File.ReadAllLines(metricsPath) : []) with { Failure = BadNumbers(summary) };

    private static RunResult Load(string id, TrainingConfig config, RunSummary summary, string[] lines)
    {
        if (lines.Length == 0) lines = [string.Join(",", NormSharp.Training.MetricsCsvLogger.BaseColumns)];
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        int kind = Col("kind"), loss = Col("loss"), ms = Col("step_ms"), cpuMs = Col("step_cpu_ms"), testLoss = Col("test_loss"), testAcc = Col("test_accuracy");
        var stepLoss = new List<double>();
        var stepMs = new List<double>();
        var stepCpuMs = new List<double>();
        var epochLoss = new List<double>();
        var epochTestLoss = new List<double>();
        var epochErr = new List<double>();
        var evalSteps = new List<double>();
        var evalLoss = new List<double>();
        var evalError = new List<double>();
        int stepCol = Col("step");
        var weightCols = header.Select((h, i) => (h, i)).Where(t => t.h.StartsWith("weight_norm:", StringComparison.Ordinal))
            .Select(t => (Layer: t.h["weight_norm:".Length..], Norm: t.i, Ratio: Array.IndexOf(header, "update_ratio:" + t.h["weight_norm:".Length..]))).ToList();
        var weightSteps = new List<double>();
        var weightNorms = weightCols.Select(_ => new List<double>()).ToArray();
        var updateRatios = weightCols.Select(_ => new List<double>()).ToArray();
        var groups = header.Select((h, i) => (h, i)).Where(t => t.h.StartsWith("grad_norm:", StringComparison.Ordinal)).ToList();
        var hidden = header.Select((h, i) => (h, i)).Where(t => t.h.StartsWith("h_norm:", StringComparison.Ordinal)).Select(t => t.i).ToList();
        string[]? firstStep = null, lastStep = null;
        static double P(string s) => s.Length == 0 ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            // A run killed mid-write may leave a torn last row.
            if (f.Length != header.Length) continue;
            if (f[kind] == "step")
            {
                stepLoss.Add(P(f[loss]));
                stepMs.Add(P(f[ms]));
                if (cpuMs >= 0) stepCpuMs.Add(P(f[cpuMs]));
                firstStep ??= f;
                lastStep = f;
                if (weightCols.Count > 0 && double.IsFinite(P(f[weightCols[0].Norm])))
                {
                    weightSteps.Add(P(f[stepCol]));
                    for (int w = 0; w < weightCols.Count; w++)
                    {
                        weightNorms[w].Add(P(f[weightCols[w].Norm]));
                        updateRatios[w].Add(weightCols[w].Ratio < 0 ? double.NaN : P(f[weightCols[w].Ratio]));
                    }
                }
            }
            else if (f[kind] == "eval")
            {
                evalSteps.Add(P(f[stepCol]));
                evalLoss.Add(P(f[testLoss]));
                evalError.Add(1 - P(f[testAcc]));
            }
            else if (f[kind] == "epoch")
            {
                epochLoss.Add(P(f[loss]));
                epochTestLoss.Add(P(f[testLoss]));
                epochErr.Add(1 - P(f[testAcc]));
            }
        }
        var gradNorms = groups.ToDictionary(g => g.h["grad_norm:".Length..], g => (firstStep is null ? double.NaN : P(firstStep[g.i]), lastStep is null ? double.NaN : P(lastStep[g.i])));
        var stepRows = lines.Skip(1).Select(l => l.Split(',')).Where(f => f.Length == header.Length && f[kind] == "step").ToList();
        // Every numeric column of the step rows (text columns such as "kind" read as NaN).
        static double Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
        var columns = new Dictionary<string, double[]>();
        for (int i = 0; i < header.Length; i++) columns.TryAdd(header[i], stepRows.Select(f => Number(f[i])).ToArray());
        return new RunResult
        {
            Id = id,
            Config = config,
            Summary = summary,
            StepLoss = [.. stepLoss],
            StepMilliseconds = [.. stepMs],
            StepCpuMilliseconds = [.. stepCpuMs],
            EpochTrainLoss = [.. epochLoss],
            EpochTestLoss = [.. epochTestLoss],
            EpochTestError = [.. epochErr],
            EvalSteps = [.. evalSteps],
            EvalLoss = [.. evalLoss],
            EvalError = [.. evalError],
            Weights = weightCols.Select((c, w) => (c.Layer, Series: new WeightSeries([.. weightSteps], [.. weightNorms[w]], [.. updateRatios[w]])))
                .ToDictionary(t => t.Layer, t => t.Series),
            GroupGradNorms = gradNorms,
            HiddenNorms = lastStep is null ? [] : hidden.Select(i => P(lastStep[i])).ToArray(),
            StepColumns = columns,
        };
    }
}

/// <summary>One layer's weight norm and relative update at the steps they were measured.</summary>
/// <param name="Steps">The measured steps (1-based).</param>
/// <param name="WeightNorm">‖W‖ after each measured step's update.</param>
/// <param name="UpdateRatio">‖ΔW‖/‖W‖ of each measured step's update.</param>
public sealed record WeightSeries(double[] Steps, double[] WeightNorm, double[] UpdateRatio);
