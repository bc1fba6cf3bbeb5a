using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers;

/// <summary>The PyTorch-layout recurrent modules (<see cref="Lstm"/>, <see cref="Gru"/>, <see cref="Rnn"/>): names, layouts, gradients.</summary>
public class RecurrentStackTests
{
    private static RecurrentStack Make(string kind, int input, int hidden, int layers, bool batchFirst, bool bidirectional, float dropout = 0f, ulong seed = 3) => kind switch
    {
        "lstm" => new Lstm(input, hidden, new Rng(seed), layers, batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional),
        "gru" => new Gru(input, hidden, new Rng(seed), layers, batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional),
        _ => new Rnn(input, hidden, new Rng(seed), layers, batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional),
    };

    private static Variable Param(Rng rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return Variable.Parameter(t);
    }

    [Fact]
    public void ParametersHavePyTorchsNamesShapesAndOrder()
    {
        var lstm = new Lstm(12, 16, new Rng(1), numLayers: 2, bidirectional: true);
        var names = lstm.NamedParameters().Select(p => $"{p.Name} {string.Join("x", p.Parameter.Shape.ToArray())}").ToArray();
        Assert.Equal(
        [
            "weight_ih_l0 64x12", "weight_hh_l0 64x16", "bias_ih_l0 64", "bias_hh_l0 64",
            "weight_ih_l0_reverse 64x12", "weight_hh_l0_reverse 64x16", "bias_ih_l0_reverse 64", "bias_hh_l0_reverse 64",
            "weight_ih_l1 64x32", "weight_hh_l1 64x16", "bias_ih_l1 64", "bias_hh_l1 64",
            "weight_ih_l1_reverse 64x32", "weight_hh_l1_reverse 64x16", "bias_ih_l1_reverse 64", "bias_hh_l1_reverse 64",
        ], names);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0"], new Gru(3, 4, new Rng(1), bias: false).NamedParameters().Select(p => p.Name));
        // PyTorch's initialization: every weight and bias within ±1/√H.
        Assert.All(lstm.Parameters(), p => Assert.All(p.Value.ToArray(), v => Assert.InRange(v, -0.25f, 0.25f)));
    }

    [Theory]
    [InlineData("lstm", false)]
    [InlineData("lstm", true)]
    [InlineData("gru", false)]
    [InlineData("gru", true)]
    [InlineData("rnn", true)]
    public void TwoBidirectionalLayersBackpropagateToInputsStatesAndParameters(string kind, bool batchFirst)
    {
        var rng = new Rng(4);
        var stack = Make(kind, 3, 4, 2, batchFirst, bidirectional: true);
        var x = batchFirst ? Param(rng, 2, 3, 3) : Param(rng, 3, 2, 3);
        var h0 = Param(rng, 4, 2, 4);
        var c0 = kind == "lstm" ? Param(rng, 4, 2, 4) : null;
        var inputs = new List<Variable> { x, h0 };
        if (c0 is not null) inputs.Add(c0);
        inputs.AddRange(stack.Parameters());
        Variable Forward()
        {
            var r = stack.Run(x, h0, c0);
            var parts = new List<Variable> { F.Reshape(r.Output, -1, 4), F.Reshape(r.Hn, -1, 4) };
            if (r.Cn is not null) parts.Add(F.Reshape(r.Cn, -1, 4));
            return F.ConcatRows(parts);
        }
        var worst = GradCheck.Run(Forward, inputs, atol: 3e-3, rtol: 3e-2);
        Assert.True(worst.Error <= 1, $"{kind}: input {worst.Input} element {worst.Element}: {worst.Analytic} vs {worst.Numeric}");
    }

    [Fact]
    public void OutputsAndStatesHavePyTorchsLayouts()
    {
        var lstm = new Lstm(5, 6, new Rng(2), numLayers: 3, batchFirst: true, bidirectional: true);
        var x = Tensor.Zeros(4, 7, 5);
        new Rng(3).FillUniform(x.Span, -1, 1);
        using var _ = GradMode.NoGrad();
        var r = lstm.Run(Variable.Constant(x));
        Assert.Equal([4, 7, 12], r.Output.Shape.ToArray());
        Assert.Equal([6, 4, 6], r.Hn.Shape.ToArray());
        Assert.Equal([6, 4, 6], r.Cn!.Shape.ToArray());
        // The top layer's forward half ends in h_n of its forward direction at the last step, the reverse half at step 0.
        var y = r.Output.Value;
        for (int b = 0; b < 4; b++)
            for (int j = 0; j < 6; j++)
            {
                Assert.Equal(r.Hn.Value[(4 * 4 + b) * 6 + j], y[(b * 7 + 6) * 12 + j]);
                Assert.Equal(r.Hn.Value[(5 * 4 + b) * 6 + j], y[(b * 7 + 0) * 12 + 6 + j]);
            }
    }

    [Fact]
    public void AnUnbatchedSequenceGivesTheOutputOfABatchOfOne()
    {
        var gru = new Gru(3, 4, new Rng(5), numLayers: 2);
        var x = Tensor.Zeros(6, 3);
        new Rng(6).FillUniform(x.Span, -1, 1);
        using var _ = GradMode.NoGrad();
        var single = gru.Run(Variable.Constant(x));
        var batched = gru.Run(Variable.Constant(x.Reshape(6, 1, 3)));
        Assert.Equal([6, 4], single.Output.Shape.ToArray());
        Assert.Equal([2, 4], single.Hn.Shape.ToArray());
        Assert.Equal(batched.Output.Value.ToArray(), single.Output.Value.ToArray());
    }

    [Fact]
    public void DropoutActsBetweenLayersInTrainingOnly()
    {
        var x = Tensor.Zeros(5, 3, 4);
        new Rng(7).FillUniform(x.Span, -1, 1);
        var plain = Make("lstm", 4, 8, 2, false, false);
        var dropped = Make("lstm", 4, 8, 2, false, false, dropout: 0.5f);
        using var _ = GradMode.NoGrad();
        Assert.NotEqual(plain.Forward(Variable.Constant(x)).Value.ToArray(), dropped.Forward(Variable.Constant(x)).Value.ToArray());
        plain.Eval();
        dropped.Eval();
        Assert.Equal(plain.Forward(Variable.Constant(x)).Value.ToArray(), dropped.Forward(Variable.Constant(x)).Value.ToArray());
        Assert.DoesNotContain(dropped.StateDict(), s => s.Name.Contains("dropout"));
    }

    [Fact]
    public void BadInputsAndStatesAreRefusedWithTheirShapes()
    {
        var lstm = new Lstm(3, 4, new Rng(1), numLayers: 2);
        var e = Assert.Throws<ShapeMismatchException>(() => lstm.Run(Variable.Constant(Tensor.Zeros(5, 2, 7))));
        Assert.Contains("[5, 2, 7]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => lstm.Run(Variable.Constant(Tensor.Zeros(5, 2, 3)), Variable.Constant(Tensor.Zeros(1, 2, 4))));
        Assert.Contains("h0 must be [2, 2, 4]", e.Message);
        Assert.Throws<InvalidValueException>(() => new Gru(3, 4, new Rng(1)).Run(Variable.Constant(Tensor.Zeros(5, 2, 3)), null, Variable.Constant(Tensor.Zeros(1, 2, 4))));
        Assert.Throws<InvalidValueException>(() => new Rnn(3, 4, new Rng(1), numLayers: 0));
        Assert.Throws<InvalidValueException>(() => new Lstm(3, 4, new Rng(1), dropout: 1.5f));
    }
}
