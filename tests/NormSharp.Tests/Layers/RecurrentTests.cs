using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers;

public class RecurrentTests
{
    private static Variable Param(Rng rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return Variable.Parameter(t);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedLstmStepMatchesFiniteDifferences(bool layerNorm)
    {
        var rng = new Rng(3);
        int b = 3, h = 4;
        var projected = Param(rng, b, 4 * h);
        var state = Param(rng, 2, b, h);
        var w = Param(rng, 4 * h, h);
        var bias = Param(rng, 4 * h);
        var ln = layerNorm ? new F.LstmLayerNorm(Param(rng, 4 * h), Param(rng, 4 * h), Param(rng, 4 * h), Param(rng, 4 * h), Param(rng, h), Param(rng, h), 1e-5f) : null;
        var inputs = new List<Variable> { projected, state, w, bias };
        if (ln is not null) inputs.AddRange([ln.IhWeight, ln.IhBias, ln.HhWeight, ln.HhBias, ln.CWeight, ln.CBias]);
        var worst = GradCheck.Run(() => F.LstmStep(projected, state, w, bias, ln), inputs);
        Assert.True(worst.Error <= 1, $"input {worst.Input} element {worst.Element}: {worst.Analytic} vs {worst.Numeric}");
    }

    [Theory]
    [InlineData(CellKind.Rnn)]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.LnLstm)]
    [InlineData(CellKind.BnLstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.LnGru)]
    public void TwoLayerSequencesBackpropagateThroughTime(CellKind kind)
    {
        var rng = new Rng(4);
        var layer = new RecurrentLayer(kind, 3, 4, rng, layers: 2, maxSteps: 5);
        var x = Param(rng, 5, 3, 3);
        var inputs = new List<Variable> { x };
        inputs.AddRange(layer.Parameters());
        // Batch statistics over 3 samples make BN-LSTM sharply curved: a smaller step keeps the differences' truncation error down.
        double step = kind == CellKind.BnLstm ? 1e-3 : 1e-2;
        var worst = GradCheck.Run(() => layer.Run(x).Outputs!, inputs, step: step, atol: 3e-3, rtol: 3e-2);
        Assert.True(worst.Error <= 1, $"{kind}: input {worst.Input} element {worst.Element}: {worst.Analytic} vs {worst.Numeric}");
    }

    [Fact]
    public void BatchFirstMatchesTimeFirst()
    {
        var a = new RecurrentLayer(CellKind.LnLstm, 3, 5, new Rng(9));
        var b = new RecurrentLayer(CellKind.LnLstm, 3, 5, new Rng(9), batchFirst: true);
        var x = Tensor.Zeros(4, 2, 3);
        new Rng(1).FillUniform(x.Span, -1, 1);
        using var _ = GradMode.NoGrad();
        var ya = a.Run(Variable.Constant(x)).Outputs!.Value;
        var yb = b.Run(F.SwapFirstTwoDims(Variable.Constant(x))).Outputs!.Value;
        var ybT = F.SwapFirstTwoDims(Variable.Constant(yb)).Value;
        Assert.Equal(ya.ToArray(), ybT.ToArray());
    }

    [Fact]
    public void BnLstmReusesTheLastStepsStatisticsBeyondTrainedLengths()
    {
        var rng = new Rng(2);
        var layer = new RecurrentLayer(CellKind.BnLstm, 2, 3, rng, maxSteps: 4);
        var train = Tensor.Zeros(4, 8, 2);
        rng.FillUniform(train.Span, -1, 1);
        layer.Run(Variable.Constant(train));
        var cell = (BnLstmCell)layer.Cells[0];
        Assert.Equal(4, cell.StepsSeen);
        layer.Eval();
        var longer = Tensor.Zeros(9, 2, 2);
        rng.FillUniform(longer.Span, -1, 1);
        using var _ = GradMode.NoGrad();
        var y = layer.Run(Variable.Constant(longer)).Outputs!;
        Assert.Equal(new[] { 9, 2, 3 }, y.Shape.ToArray());
        Assert.True(NormSharp.Kernels.ElementwiseKernels.AllFinite(y.Value.Span));
        layer.Train();
        Assert.Throws<InvalidValueException>(() => layer.Run(Variable.Constant(longer)));
    }

    [Fact]
    public void BadShapesNameTheLayerAndShapes()
    {
        var layer = new RecurrentLayer(CellKind.Lstm, 3, 5, new Rng(1));
        var e = Assert.Throws<ShapeMismatchException>(() => layer.Run(Variable.Constant(Tensor.Zeros(4, 2, 7))));
        Assert.Contains("lstm", e.Message);
        Assert.Contains("[4, 2, 7]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => layer.Run(Variable.Constant(Tensor.Zeros(0, 2, 3))));
        var e2 = Assert.Throws<ShapeMismatchException>(() => layer.Run(Variable.Constant(Tensor.Zeros(4, 2, 3)), [Variable.Constant(Tensor.Zeros(3, 5))]));
        Assert.Contains("[2, 5]", e2.Message);
        Assert.Throws<InvalidValueException>(() => new RecurrentLayer(CellKind.Gru, 3, 0, new Rng(1)));
    }
}

public class TruncatedBackpropagationTests
{
    [Fact]
    public void GradientsStopAtTheWindowAndTheForwardPassIsUnchanged()
    {
        var rng = new Rng(6);
        var x = Tensor.Zeros(4, 10, 3);
        rng.FillUniform(x.Span, -1, 1);
        var full = new RecurrentLayer(CellKind.LnLstm, 3, 5, new Rng(1), batchFirst: true);
        var cut = new RecurrentLayer(CellKind.LnLstm, 3, 5, new Rng(1), batchFirst: true) { TruncateBackpropagation = 3 };
        var input = Variable.Parameter(x);
        var yFull = full.Run(input, allOutputs: false).Last;
        var fullValues = yFull.Value.ToArray();
        F.Sum(yFull).Backward();
        var fullGrad = input.Grad!.ToArray();
        input.ZeroGrad();
        var yCut = cut.Run(input, allOutputs: false).Last;
        Assert.Equal(fullValues, yCut.Value.ToArray());
        F.Sum(yCut).Backward();
        var cutGrad = input.Grad!;
        // Steps 0..6 of every sample get no gradient; the last three do.
        for (int b = 0; b < 4; b++)
            for (int t = 0; t < 10; t++)
            {
                double s = 0;
                for (int i = 0; i < 3; i++) s += Math.Abs(cutGrad[(b * 10 + t) * 3 + i]);
                if (t < 7) Assert.Equal(0, s);
                else Assert.True(s > 0);
            }
        Assert.NotEqual(fullGrad, cutGrad.ToArray());
        Assert.Equal(10, cut.LastHiddenNorms.Length);
    }
}

public class CellForwardTests
{
    [Theory]
    [InlineData(CellKind.Rnn)]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.LnLstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.LnGru)]
    public void ACellsForwardIsTheFirstStepOfItsLayer(CellKind kind)
    {
        var layer = new RecurrentLayer(kind, 3, 4, new Rng(5));
        var x = Tensor.Zeros(1, 2, 3);
        new Rng(6).FillUniform(x.Span, -1, 1);
        using var _ = GradMode.NoGrad();
        var viaLayer = layer.Run(Variable.Constant(x)).Last.Value.ToArray();
        var cell = (NormSharp.Layers.Module)layer.Cells[0];
        var viaCell = cell.Forward(Variable.Constant(x.Reshape(2, 3))).Value.ToArray();
        Assert.Equal(viaLayer, viaCell);
        Assert.Throws<ShapeMismatchException>(() => cell.Forward(Variable.Constant(Tensor.Zeros(2, 5))));
    }
}
