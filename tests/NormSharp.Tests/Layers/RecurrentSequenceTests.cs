using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;
using NormSharp.Tensors;
using NormSharp.Tests.Kernels.Sweeps;

namespace NormSharp.Tests.Layers;

/// <summary>
/// The fused recurrent operations: every step op and whole-sequence op (plain and layer-normalized, forward and
/// reverse, time- and batch-first) against finite differences and against each other, the same bits at every vector
/// width and thread count, and clear errors for bad shapes.
/// </summary>
public class RecurrentSequenceTests
{
    private static Variable Param(Rng rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return Variable.Parameter(t);
    }

    private static Variable Gain(Rng rng, int n)
    {
        var t = Tensor.Zeros(n);
        rng.FillUniform(t.Span, 0.5f, 1.5f);
        return Variable.Parameter(t);
    }

    private static void AssertGradients(string what, Func<Variable> forward, IReadOnlyList<Variable> inputs, double step = 1e-2)
    {
        var worst = GradCheck.Run(forward, inputs, step: step, atol: 3e-3, rtol: 3e-2);
        Assert.True(worst.Error <= 1, $"{what}: input {worst.Input} element {worst.Element}: {worst.Analytic} vs {worst.Numeric}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedGruStepMatchesFiniteDifferences(bool layerNorm)
    {
        var rng = new Rng(7);
        int b = 3, h = 5;
        var projected = Param(rng, b, 3 * h);
        var state = Param(rng, b, h);
        var w = Param(rng, 3 * h, h);
        var biasHh = Param(rng, 3 * h);
        var inputs = new List<Variable> { projected, state, w, biasHh };
        F.GruLayerNorm? ln = null;
        Variable? biasIh = null;
        if (layerNorm)
        {
            ln = new F.GruLayerNorm(Gain(rng, 3 * h), Param(rng, 3 * h), Gain(rng, 3 * h), Param(rng, 3 * h), 1e-5f);
            biasIh = Param(rng, 3 * h);
            inputs.AddRange([ln.IhWeight, ln.IhBias, ln.HhWeight, ln.HhBias, biasIh]);
        }
        AssertGradients($"GruStep ln={layerNorm}", () => F.GruStep(projected, state, w, biasHh, ln, biasIh), inputs);
    }

    [Fact]
    public void FusedRnnStepMatchesFiniteDifferences()
    {
        var rng = new Rng(8);
        var projected = Param(rng, 2, 4);
        var state = Param(rng, 2, 4);
        var w = Param(rng, 4, 4);
        var bias = Param(rng, 4);
        AssertGradients("RnnStep", () => F.RnnStep(projected, state, w, bias), [projected, state, w, bias]);
    }

    public static TheoryData<string, bool, bool> SequenceCases()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var cell in new[] { "lstm", "ln-lstm", "gru", "ln-gru", "rnn" })
            foreach (bool reverse in new[] { false, true })
                foreach (bool batchFirst in new[] { false, true })
                    data.Add(cell, reverse, batchFirst);
        return data;
    }

    /// <summary>A fused sequence op of <paramref name="cell"/> with every input a parameter; returns the op and its inputs.</summary>
    private static (Func<bool, RecurrentSequence> Run, List<Variable> Inputs) Sequence(string cell, int steps, int batch, int features, int hidden, bool reverse, bool batchFirst, ulong seed)
    {
        var rng = new Rng(seed);
        int blocks = cell switch { "rnn" => 1, "gru" or "ln-gru" => 3, _ => 4 };
        int g = blocks * hidden;
        var x = batchFirst ? Param(rng, batch, steps, features) : Param(rng, steps, batch, features);
        var wih = Param(rng, g, features);
        var whh = Param(rng, g, hidden);
        var bih = Param(rng, g);
        var bhh = Param(rng, g);
        var h0 = Param(rng, batch, hidden);
        var c0 = Param(rng, batch, hidden);
        var inputs = new List<Variable> { x, wih, whh, bih, bhh, h0 };
        switch (cell)
        {
            case "lstm":
                inputs.Add(c0);
                return (all => F.LstmSequence(x, wih, bih, whh, bhh, h0, c0, null, reverse, batchFirst, all), inputs);
            case "ln-lstm":
            {
                var ln = new F.LstmLayerNorm(Gain(rng, g), Param(rng, g), Gain(rng, g), Param(rng, g), Gain(rng, hidden), Param(rng, hidden), 1e-5f);
                inputs.Remove(bih);
                inputs.AddRange([c0, ln.IhWeight, ln.IhBias, ln.HhWeight, ln.HhBias, ln.CWeight, ln.CBias]);
                return (all => F.LstmSequence(x, wih, null, whh, bhh, h0, c0, ln, reverse, batchFirst, all), inputs);
            }
            case "gru":
                return (all => F.GruSequence(x, wih, bih, whh, bhh, h0, null, reverse, batchFirst, all), inputs);
            case "ln-gru":
            {
                var ln = new F.GruLayerNorm(Gain(rng, g), Param(rng, g), Gain(rng, g), Param(rng, g), 1e-5f);
                inputs.AddRange([ln.IhWeight, ln.IhBias, ln.HhWeight, ln.HhBias]);
                return (all => F.GruSequence(x, wih, bih, whh, bhh, h0, ln, reverse, batchFirst, all), inputs);
            }
            default:
                return (all => F.RnnSequence(x, wih, bih, whh, bhh, h0, reverse, batchFirst, all), inputs);
        }
    }

    /// <summary>Every output of a sequence as one variable: all h, then the final h and (LSTMs) the final c.</summary>
    private static Variable Everything(RecurrentSequence s)
    {
        var parts = new List<Variable> { F.Reshape(s.Outputs(), s.Steps * s.Batch, s.Hidden), s.FinalHidden() };
        if (s.HasCellState) parts.Add(s.FinalCell());
        return F.ConcatRows(parts);
    }

    [Theory]
    [MemberData(nameof(SequenceCases))]
    public void SequenceOpsMatchFiniteDifferences(string cell, bool reverse, bool batchFirst)
    {
        var (run, inputs) = Sequence(cell, steps: 3, batch: 2, features: 3, hidden: 4, reverse, batchFirst, seed: 11);
        AssertGradients($"{cell} reverse={reverse} batchFirst={batchFirst}", () => Everything(run(true)), inputs);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("ln-lstm")]
    [InlineData("gru")]
    [InlineData("ln-gru")]
    [InlineData("rnn")]
    public void AReverseSequenceIsTheForwardOneOverTheReversedInput(string cell)
    {
        var (runReverse, inputs) = Sequence(cell, steps: 5, batch: 3, features: 2, hidden: 3, reverse: true, batchFirst: false, seed: 5);
        var (runForward, flipped) = Sequence(cell, steps: 5, batch: 3, features: 2, hidden: 3, reverse: false, batchFirst: false, seed: 5);
        // Same parameters; the forward run gets the time-reversed input.
        var x = inputs[0].Value;
        for (int t = 0; t < 5; t++) x.Span.Slice((4 - t) * 6, 6).CopyTo(flipped[0].Value.Span.Slice(t * 6, 6));
        using var _ = GradMode.NoGrad();
        var rev = runReverse(true);
        var fwd = runForward(true);
        var yr = rev.Outputs().Value.ToArray();
        var yf = fwd.Outputs().Value.ToArray();
        for (int t = 0; t < 5; t++)
            Assert.Equal(yf.AsSpan((4 - t) * 9, 9).ToArray(), yr.AsSpan(t * 9, 9).ToArray());
        Assert.Equal(fwd.FinalHidden().Value.ToArray(), rev.FinalHidden().Value.ToArray());
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("ln-lstm")]
    [InlineData("gru")]
    [InlineData("ln-gru")]
    [InlineData("rnn")]
    public void KeepingOnlyTheLastStateGivesTheSameFinalStates(string cell)
    {
        var (run, _) = Sequence(cell, steps: 6, batch: 20, features: 3, hidden: 7, reverse: false, batchFirst: true, seed: 9);
        using var _ = GradMode.NoGrad();
        var all = run(true);
        var last = run(false);
        Assert.Equal(all.FinalHidden().Value.ToArray(), last.FinalHidden().Value.ToArray());
        if (all.HasCellState) Assert.Equal(all.FinalCell().Value.ToArray(), last.FinalCell().Value.ToArray());
        Assert.Throws<InvalidValueException>(() => last.Outputs());
    }

    [Theory]
    [InlineData("lstm", 5)]
    [InlineData("ln-lstm", 17)]
    [InlineData("gru", 19)]
    [InlineData("ln-gru", 5)]
    [InlineData("rnn", 33)]
    [Trait("Category", "Kernels")]
    public void SequencesGiveTheSameBitsAtEveryWidthAndThreadCount(string cell, int hidden)
    {
        // 37 rows make three chunks of the batch, the last short; odd widths exercise every remainder.
        float[] Run()
        {
            var (run, inputs) = Sequence(cell, steps: 4, batch: 37, features: 3, hidden, reverse: false, batchFirst: false, seed: 21);
            Tape.Current.Reset();
            var y = Everything(run(true));
            F.Sum(F.Mul(y, y)).Backward();
            return [.. y.Value.ToArray(), .. inputs.SelectMany(v => v.Grad!.ToArray())];
        }
        float[] reference = EveryWidth.SameBits(cell, Run);
        int threads = NormSharp.Threading.ParallelFor.MaxThreads;
        try
        {
            NormSharp.Threading.ParallelFor.MaxThreads = 1;
            EveryWidth.AssertBits($"{cell} on one thread", reference, Run());
        }
        finally
        {
            NormSharp.Threading.ParallelFor.MaxThreads = threads;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StepOpsAgreeWithTheSequenceOp(bool layerNorm)
    {
        var rng = new Rng(13);
        int steps = 4, batch = 3, features = 2, hidden = 5, g = 4 * hidden;
        var x = Param(rng, steps, batch, features);
        var wih = Param(rng, g, features);
        var whh = Param(rng, g, hidden);
        var bias = Param(rng, g);
        var ln = layerNorm ? new F.LstmLayerNorm(Gain(rng, g), Param(rng, g), Gain(rng, g), Param(rng, g), Gain(rng, hidden), Param(rng, hidden), 1e-5f) : null;
        using var _ = GradMode.NoGrad();
        var sequence = F.LstmSequence(x, wih, null, whh, bias, null, null, ln).Outputs().Value.ToArray();
        var state = Variable.Constant(Tensor.Zeros(2, batch, hidden));
        for (int t = 0; t < steps; t++)
        {
            var xt = Variable.Constant(x.Value.Narrow(t, 1).Reshape(batch, features));
            state = F.LstmStep(F.Linear(xt, wih), state, whh, bias, ln);
            var h = state.Value.Span[..(batch * hidden)].ToArray();
            for (int i = 0; i < h.Length; i++)
                Assert.True(Math.Abs(h[i] - sequence[t * batch * hidden + i]) <= 1e-5f, $"step {t} element {i}: {h[i]} vs {sequence[t * batch * hidden + i]}");
        }
    }

    [Fact]
    public void TheFusedBnLstmMatchesItsStepsInOutputsGradientsAndRunningStatistics()
    {
        // The same cell twice: one runs its whole sequence as one node, the other step by step through Step.
        var fused = new NormSharp.Layers.Recurrent.BnLstmCell(3, 5, new Rng(2), maxSteps: 6);
        var stepped = new NormSharp.Layers.Recurrent.BnLstmCell(3, 5, new Rng(2), maxSteps: 6);
        var x = Tensor.Zeros(6, 4, 3);
        new Rng(3).FillUniform(x.Span, -1, 1);
        foreach (bool training in new[] { true, false })
        {
            fused.Train(training);
            stepped.Train(training);
            var seq = ((NormSharp.Layers.Recurrent.ISequenceCell)fused).RunSequence(Variable.Constant(x), null, null, false, false, true, null);
            var y = seq.Outputs();
            var fusedOut = y.Value.ToArray();
            F.Sum(F.Mul(y, y)).Backward();
            var projected = stepped.ProjectInputs(Variable.Constant(x.Reshape(24, 3)));
            var state = Variable.Constant(Tensor.Zeros(2, 4, 5));
            var hs = new List<Variable>();
            for (int t = 0; t < 6; t++)
            {
                state = stepped.Step(F.NarrowRows(projected, t * 4, 4), state, t);
                hs.Add(F.Reshape(F.NarrowRows(state, 0, 1), 4, 5));
            }
            var steppedOut = F.ConcatRows(hs);
            F.Sum(F.Mul(steppedOut, steppedOut)).Backward();
            AssertClose($"outputs (training {training})", steppedOut.Value.ToArray(), fusedOut, 2e-5);
            foreach (var ((name, a), (_, b)) in fused.NamedParameters().Zip(stepped.NamedParameters()))
            {
                AssertClose($"d{name} (training {training})", b.Grad!.ToArray(), a.Grad!.ToArray(), 1e-4);
                a.ZeroGrad();
                b.ZeroGrad();
            }
            foreach (var ((name, a), (_, b)) in fused.NamedBuffers().Zip(stepped.NamedBuffers()))
                AssertClose($"{name} (training {training})", b.ToArray(), a.ToArray(), 2e-5);
        }
    }

    private static void AssertClose(string what, float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public void BadInputsNameTheOperationAndTheShapes()
    {
        var rng = new Rng(1);
        var x = Param(rng, 4, 2, 3);
        var wih = Param(rng, 8, 3);
        var whh = Param(rng, 8, 2);
        var e = Assert.Throws<ShapeMismatchException>(() => F.LstmSequence(Param(rng, 4, 2, 5), wih, null, whh, null));
        Assert.Contains("LstmSequence", e.Message);
        Assert.Contains("[4, 2, 5]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => F.GruSequence(x, Param(rng, 6, 3), null, whh, null));
        Assert.Contains("weight_hh", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => F.LstmSequence(x, wih, null, whh, null, h0: Param(rng, 3, 2)));
        Assert.Contains("h0 must be [2, 2]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => F.RnnSequence(Param(rng, 0, 2, 3), Param(rng, 2, 3), null, whh.Value.Dim(1) == 2 ? Param(rng, 2, 2) : whh, null));
        Assert.Contains("no time steps", e.Message);
        Assert.Throws<ShapeMismatchException>(() => F.LstmSequence(x, wih, Param(rng, 7), whh, null));
        Assert.Throws<InvalidValueException>(() => F.GruStep(Param(rng, 2, 6), Param(rng, 2, 2), Param(rng, 6, 2), null, null, Param(rng, 6)));
    }
}
