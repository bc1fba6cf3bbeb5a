using System.Globalization;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments;

/// <summary>A finished training run as an experiment sees it: its summary and the curves read back from its metrics.</summary>
public sealed record RunResult
{
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

    /// <summary>Per-layer gradient norms of the first and the last step, by parameter group.</summary>
    public required IReadOnlyDictionary<string, (double First, double Last)> GroupGradNorms { get; init; }

    /// <summary>Mean hidden-state norm per time step at the last step (recurrent runs), else empty.</summary>
    public required double[] HiddenNorms { get; init; }

    /// <summary>Reads a run folder written by the trainer.</summary>
    public static RunResult Load(string id, TrainingConfig config, RunSummary summary, string metricsPath)
    {
        var lines = File.ReadAllLines(metricsPath);
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        int kind = Col("kind"), loss = Col("loss"), ms = Col("step_ms"), testLoss = Col("test_loss"), testAcc = Col("test_accuracy");
        var stepLoss = new List<double>();
        var stepMs = new List<double>();
        var epochLoss = new List<double>();
        var epochTestLoss = new List<double>();
        var epochErr = new List<double>();
        var evalSteps = new List<double>();
        var evalLoss = new List<double>();
        int stepCol = Col("step");
        var groups = header.Select((h, i) => (h, i)).Where(t => t.h.StartsWith("grad_norm:", StringComparison.Ordinal)).ToList();
        var hidden = header.Select((h, i) => (h, i)).Where(t => t.h.StartsWith("h_norm:", StringComparison.Ordinal)).Select(t => t.i).ToList();
        string[]? firstStep = null, lastStep = null;
        static double P(string s) => s.Length == 0 ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            if (f[kind] == "step")
            {
                stepLoss.Add(P(f[loss]));
                stepMs.Add(P(f[ms]));
                firstStep ??= f;
                lastStep = f;
            }
            else if (f[kind] == "eval")
            {
                evalSteps.Add(P(f[stepCol]));
                evalLoss.Add(P(f[testLoss]));
            }
            else if (f[kind] == "epoch")
            {
                epochLoss.Add(P(f[loss]));
                epochTestLoss.Add(P(f[testLoss]));
                epochErr.Add(1 - P(f[testAcc]));
            }
        }
        var gradNorms = groups.ToDictionary(g => g.h["grad_norm:".Length..], g => (firstStep is null ? double.NaN : P(firstStep[g.i]), lastStep is null ? double.NaN : P(lastStep[g.i])));
        return new RunResult
        {
            Id = id,
            Config = config,
            Summary = summary,
            StepLoss = [.. stepLoss],
            StepMilliseconds = [.. stepMs],
            EpochTrainLoss = [.. epochLoss],
            EpochTestLoss = [.. epochTestLoss],
            EpochTestError = [.. epochErr],
            EvalSteps = [.. evalSteps],
            EvalLoss = [.. evalLoss],
            GroupGradNorms = gradNorms,
            HiddenNorms = lastStep is null ? [] : hidden.Select(i => P(lastStep[i])).ToArray(),
        };
    }
}
