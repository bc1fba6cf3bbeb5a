using NormSharp.Autograd;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers;

/// <summary>
/// Memory of long sequences: full backpropagation through time keeps what the backward needs (growing with the
/// length, the same every step), truncated backpropagation keeps a window's worth whatever the length, and a
/// sequence run without gradients keeps only its states.
/// </summary>
public class LongSequenceMemoryTests
{
    private static Tensor Input(int batch, int steps, int width, ulong seed)
    {
        var x = Tensor.Zeros(batch, steps, width);
        new Rng(seed).FillUniform(x.Span, -1, 1);
        return x;
    }

    /// <summary>The tape's bytes after the forward pass of one training step (what the backward will read), and after the step.</summary>
    private static (long Forward, long Held) StepBytes(RecurrentLayer layer, Tensor x)
    {
        var tape = Tape.Current;
        var last = layer.Run(Variable.Constant(x), allOutputs: false).Last;
        long forward = tape.BytesInUse;
        F.Sum(last).Backward();
        return (forward, tape.BytesHeld);
    }

    [Theory]
    [InlineData(CellKind.LnLstm)]
    [InlineData(CellKind.Gru)]
    public void FullBackpropagationKeepsMemoryProportionalToTheLengthAndTheSameEveryStep(CellKind kind)
    {
        var layer = new RecurrentLayer(kind, 3, 8, new Rng(1), batchFirst: true);
        Tape.Current.Release();
        StepBytes(layer, Input(4, 100, 3, 1));
        var shortRun = StepBytes(layer, Input(4, 100, 3, 2));
        var again = StepBytes(layer, Input(4, 100, 3, 3));
        Assert.Equal(shortRun.Held, again.Held);
        Assert.Equal(shortRun.Forward, again.Forward);
        Tape.Current.Release();
        var longRun = StepBytes(layer, Input(4, 400, 3, 4));
        double ratio = (double)longRun.Forward / shortRun.Forward;
        Assert.InRange(ratio, 3.5, 4.1);
    }

    [Fact]
    public void TruncatedBackpropagationKeepsAWindowsWorthWhateverTheLength()
    {
        var layer = new RecurrentLayer(CellKind.LnLstm, 3, 8, new Rng(1), batchFirst: true) { TruncateBackpropagation = 20 };
        Tape.Current.Release();
        StepBytes(layer, Input(4, 100, 3, 1));
        var shortRun = StepBytes(layer, Input(4, 100, 3, 2));
        Tape.Current.Release();
        StepBytes(layer, Input(4, 800, 3, 1));
        var longRun = StepBytes(layer, Input(4, 800, 3, 2));
        Assert.Equal(shortRun.Forward, longRun.Forward);
        // What the tape keeps also holds the parameters' gradients, whose buffers outlive a release: equal within them.
        Assert.InRange(longRun.Held, shortRun.Held - 1024, shortRun.Held + 1024);
        Assert.Equal(800, layer.LastHiddenNorms.Length);
        var full = new RecurrentLayer(CellKind.LnLstm, 3, 8, new Rng(1), batchFirst: true);
        Tape.Current.Release();
        Assert.True(StepBytes(full, Input(4, 800, 3, 2)).Forward > 20 * shortRun.Forward);
    }

    [Fact]
    public void AnUnrecordedLongSequenceRunsInBlocksWithTheSameResult()
    {
        // Wide enough that a block is shorter than the sequence: 2048·4H·B elements exceed one block's budget.
        var layer = new RecurrentLayer(CellKind.Lstm, 2, 64, new Rng(5), batchFirst: true);
        var x = Input(40, 2048, 2, 6);
        float[] blocked, whole;
        using (GradMode.NoGrad()) blocked = layer.Run(Variable.Constant(x), allOutputs: false).Last.Value.ToArray();
        var norms = layer.LastHiddenNorms.ToArray();
        using (GradMode.NoGrad()) whole = layer.Run(Variable.Constant(x), allOutputs: true).Last.Value.ToArray();
        Assert.Equal(2048, norms.Length);
        for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - blocked[i]) <= 1e-5f, $"element {i}: {blocked[i]} vs {whole[i]}");
        for (int t = 0; t < 2048; t++) Assert.True(Math.Abs(norms[t] - layer.LastHiddenNorms[t]) <= 1e-5 * (1 + norms[t]), $"norm at step {t}");
    }
}
