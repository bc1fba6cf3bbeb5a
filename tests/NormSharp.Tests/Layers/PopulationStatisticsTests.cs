using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers;

/// <summary>Re-estimated per-step population statistics of the BN-LSTM (Cooijmans et al. 2016).</summary>
public class PopulationStatisticsTests
{
    /// <summary>Time-first sequences whose first step is blank (as the top row of a digit) and whose inputs have a non-zero mean.</summary>
    private static Tensor Sequences(int steps, int batch, int width, ulong seed, float shift = 1f)
    {
        var x = Tensor.Zeros(steps, batch, width);
        new Rng(seed).FillUniform(x.Span, shift - 1, shift + 1);
        x.Span[..(batch * width)].Clear();
        return x;
    }

    private static float MaxAbsDiff(Tensor a, Tensor b)
    {
        float worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a.Span[i] - b.Span[i]));
        return worst;
    }

    [Fact]
    public void EvaluationAfterReestimatingOnABatchMatchesTrainingModeOnThatBatch()
    {
        var layer = new RecurrentLayer(CellKind.BnLstm, 3, 8, new Rng(5), maxSteps: 6);
        using var _ = GradMode.NoGrad();
        // Training-mode passes over differently distributed data leave stale running statistics.
        for (int i = 0; i < 5; i++) layer.Run(Variable.Constant(Sequences(6, 32, 3, (ulong)(10 + i), shift: -2f)));
        var x = Sequences(6, 256, 3, 1);
        var training = layer.Run(Variable.Constant(x)).Outputs!.Value.Clone();
        layer.Eval();
        var stale = layer.Run(Variable.Constant(x)).Outputs!.Value.Clone();
        layer.Train();

        Assert.Equal(1, layer.ReestimatePopulationStatistics([x]));
        Assert.True(layer.IsTraining);
        layer.Eval();
        var reestimated = layer.Run(Variable.Constant(x)).Outputs!.Value;

        // The population variance is the unbiased batch variance (×B/(B−1)), training normalizes with the biased one:
        // normalized values differ by a factor 1 − 1/(2B), about 0.2% for B = 256, which bounds the outputs' difference by about 1/B.
        Assert.True(MaxAbsDiff(reestimated, training) < 1.0 / 256, $"re-estimated evaluation differs from training mode by {MaxAbsDiff(reestimated, training)}");
        Assert.True(MaxAbsDiff(stale, training) > 0.05, $"the stale running statistics should have mismatched, but differ by only {MaxAbsDiff(stale, training)}");
    }

    [Theory]
    [InlineData(PopulationVariance.Pooled, 0f)]
    [InlineData(PopulationVariance.Pooled, 300f)]
    [InlineData(PopulationVariance.BatchAverage, 0f)]
    public void TheStatisticsAreThoseOfAllSamplesOrTheAveragesOfTheBatches(PopulationVariance variance, float shift)
    {
        var layer = new RecurrentLayer(CellKind.BnLstm, 3, 4, new Rng(2), maxSteps: 5);
        var cell = (BnLstmCell)layer.Cells[0];
        var a = Sequences(5, 6, 3, 3, shift);
        var b = Sequences(5, 4, 3, 4, shift + 2);
        // Step 1's input projection depends only on the inputs: W·x_1 for each batch.
        var rows = new List<double[]>();
        var batchMeans = new List<double[]>();
        var batchVars = new List<double[]>();
        foreach (var batch in new[] { a, b })
        {
            int n = batch.Dim(1);
            using var _ = GradMode.NoGrad();
            var p = F.Linear(Variable.Constant(batch.Narrow(1, 1).Reshape(n, 3)), cell.WeightIh).Value;
            var own = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, 16).Select(c => (double)p[i, c]).ToArray()).ToList();
            rows.AddRange(own);
            batchMeans.Add(Enumerable.Range(0, 16).Select(c => own.Average(r => r[c])).ToArray());
            batchVars.Add(Enumerable.Range(0, 16).Select(c => own.Sum(r => Math.Pow(r[c] - batchMeans[^1][c], 2)) / (n - 1)).ToArray());
        }
        Assert.Equal(2, layer.ReestimatePopulationStatistics([a, b], variance));
        var buffers = layer.NamedBuffers().ToDictionary(t => t.Name, t => t.Buffer);
        for (int c = 0; c < 16; c++)
        {
            double mean, var;
            if (variance == PopulationVariance.Pooled)
            {
                mean = rows.Average(r => r[c]);
                var = rows.Sum(r => Math.Pow(r[c] - mean, 2)) / (rows.Count - 1);
            }
            else
            {
                mean = (batchMeans[0][c] + batchMeans[1][c]) / 2;
                var = (batchVars[0][c] + batchVars[1][c]) / 2;
            }
            Assert.Equal(mean, buffers["cells.0.running_ih_mean.1"][c], 1e-5 * Math.Max(1, Math.Abs(mean)));
            Assert.Equal(var, buffers["cells.0.running_ih_var.1"][c], 2e-4 * Math.Max(1e-2, var));
        }
        // The blank first step and the zero initial state have no spread at all.
        Assert.All(buffers["cells.0.running_ih_var.0"].ToArray(), v => Assert.Equal(0f, v));
        Assert.All(buffers["cells.0.running_hh_var.0"].ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(5, cell.StepsSeen);
    }

    [Fact]
    public void EvaluationBeyondTheEstimatedLengthReusesTheLastStepsStatistics()
    {
        var layer = new RecurrentLayer(CellKind.BnLstm, 3, 4, new Rng(7), maxSteps: 8);
        var twin = new RecurrentLayer(CellKind.BnLstm, 3, 4, new Rng(7), maxSteps: 8);
        layer.ReestimatePopulationStatistics([Sequences(4, 16, 3, 8)]);
        var cell = (BnLstmCell)layer.Cells[0];
        Assert.Equal(4, cell.StepsSeen);
        // The twin holds step 3's statistics at steps 4..6 explicitly and counts them as seen.
        var from = layer.NamedBuffers().ToDictionary(t => t.Name, t => t.Buffer);
        foreach (var (name, t) in twin.NamedBuffers())
        {
            string source = name;
            int dot = name.LastIndexOf('.');
            if (name.Contains("running_") && int.Parse(name[(dot + 1)..]) is >= 4 and <= 6) source = name[..dot] + ".3";
            t.CopyFrom(from[source]);
        }
        twin.NamedBuffers().Single(t => t.Name == "cells.0.steps_seen").Buffer[0] = 7;
        layer.Eval();
        twin.Eval();
        using var _ = GradMode.NoGrad();
        var longer = Sequences(7, 5, 3, 9);
        Assert.Equal(twin.Run(Variable.Constant(longer)).Outputs!.Value.ToArray(), layer.Run(Variable.Constant(longer)).Outputs!.Value.ToArray());
    }

    [Fact]
    public void AFailedPassLeavesTheStatisticsAndTheModeAsTheyWere()
    {
        var layer = new RecurrentLayer(CellKind.BnLstm, 3, 4, new Rng(3), maxSteps: 5);
        layer.Run(Variable.Constant(Sequences(5, 8, 3, 1)));
        var before = layer.NamedBuffers().Select(t => t.Buffer.ToArray()).ToList();
        var e = Assert.Throws<InvalidValueException>(() => layer.ReestimatePopulationStatistics([Sequences(5, 8, 3, 2), Sequences(5, 1, 3, 3)]));
        Assert.Contains("batch 2 holds 1 sample", e.Message);
        Assert.Throws<InvalidValueException>(() => layer.ReestimatePopulationStatistics([]));
        Assert.Throws<InvalidValueException>(() => layer.ReestimatePopulationStatistics([Sequences(6, 8, 3, 2)]));
        Assert.Equal(before, layer.NamedBuffers().Select(t => t.Buffer.ToArray()).ToList());
        Assert.True(layer.IsTraining);
        // Training afterwards updates running averages again: the cell is out of its collecting mode.
        layer.Run(Variable.Constant(Sequences(5, 8, 3, 4)));
        Assert.NotEqual(before, layer.NamedBuffers().Select(t => t.Buffer.ToArray()).ToList());
        Assert.Equal(0, new RecurrentLayer(CellKind.LnLstm, 3, 4, new Rng(3)).ReestimatePopulationStatistics([Sequences(5, 8, 3, 2)]));
    }

    [Fact]
    public void AWholeModelIsReestimatedFromItsOwnInputs()
    {
        var model = new SequenceClassifier(CellKind.BnLstm, SequenceReading.Rows, 4, 3, 6, 5, new Rng(4));
        Assert.True(PopulationStatistics.Applies(model));
        Assert.False(PopulationStatistics.Applies(new SequenceClassifier(CellKind.Lstm, SequenceReading.Rows, 4, 3, 6, 5, new Rng(4))));
        var images = Tensor.Zeros(200, 12);
        new Rng(6).FillUniform(images.Span, 0, 1);
        using var _ = GradMode.NoGrad();
        var training = model.Forward(Variable.Constant(images)).Value.Clone();
        Assert.Equal(2, PopulationStatistics.Reestimate(model, [images.Narrow(0, 100), images.Narrow(100, 100)]));
        model.Eval();
        var evaluation = model.Forward(Variable.Constant(images)).Value;
        // Two halves of one sample: their averaged statistics describe the whole batch up to sampling noise of the halves.
        Assert.True(MaxAbsDiff(evaluation, training) < 0.05, $"{MaxAbsDiff(evaluation, training)}");
    }
}
