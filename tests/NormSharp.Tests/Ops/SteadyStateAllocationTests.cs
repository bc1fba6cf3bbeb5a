using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Tests.Ops;

/// <summary>
/// The operations take their memory from the tape, so a repeated training step allocates nothing beyond what
/// the tape itself costs per recorded operation (its result objects).
/// </summary>
public class SteadyStateAllocationTests
{
    [Fact]
    public void ARepeatedStepOfManyOperationsStaysUnderTheAllocationBudget()
    {
        var rng = new Rng(1);
        var x = Variable.Constant(Tensor.Randn(rng, 4, 16, 32));
        var w = Variable.Parameter(Tensor.Randn(rng, 32, 32));
        var bias = Variable.Parameter(Tensor.Randn(rng, 32));
        var table = Variable.Parameter(Tensor.Randn(rng, 50, 32));
        var ids = Tensor.RandInt(rng, 0, 50, 4, 16);
        var mask = Tensor.FromArray(Enumerable.Range(0, 16 * 16).Select(i => i % 16 > i / 16 ? 1f : 0f).ToArray()).Reshape(16, 16);
        int ops = 0;

        void Step()
        {
            var h = F.Add(x, F.Embedding(ids, table));                              // broadcast-free add of a lookup
            h = F.Silu(F.MatMul(h, w) + bias);                                      // batched matmul, bias, operator
            var q = F.Permute(F.Reshape(h, 4, 16, 2, 16), 0, 2, 1, 3);              // heads
            var scores = F.MaskedFill(F.MatMul(q, q, transposeB: true) / 4f, mask, float.NegativeInfinity);
            var att = F.MatMul(F.Softmax(scores, -1), q);
            var merged = F.Reshape(F.Transpose(att, 1, 2), 4, 16, 32);
            var both = F.Cat([merged, F.Narrow(h, 2, 0, 32)], 0);
            var stats = F.Mean(both, [0, 1], keepDim: true);
            var centered = F.Div(both - stats, F.Sqrt(F.Mean(F.Pow(both - stats, 2f), -1, keepDim: true) + 1e-5f));
            var pooled = F.Max(F.Gelu(centered, F.GeluApproximation.Tanh), 1);
            var gate = F.Where(mask, F.Exp(F.Clamp(scores, -5f, 5f)), 0f);
            var loss = F.Mean(F.LogSoftmax(pooled, 0)) + F.Sum(F.Log(F.Sum(gate, [2, 3]) + 1f)) * 0.001f
                       + F.Mean(F.Stack([F.Abs(bias), F.Maximum(bias, F.Neg(bias))], 1));
            ops = Tape.Current.RecordedCount;
            loss.Backward();
        }

        // The same number of the simplest recorded operation: what the tape costs per operation by itself.
        var leaf = Variable.Parameter(Tensor.Randn(rng, 4));
        void Baseline()
        {
            var y = leaf;
            for (int i = 1; i < ops; i++) y = F.Add(y, 1f);
            F.Sum(y).Backward();
        }

        double PerStep(Action step)
        {
            for (int i = 0; i < 5; i++) step();
            const int Steps = 20;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Steps; i++) step();
            return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Steps;
        }

        double perStep = PerStep(Step);
        double baseline = PerStep(Baseline);
        Assert.True(ops > 40, $"only {ops} operations recorded");
        Assert.True(perStep <= baseline + 256, $"{perStep:F0} bytes allocated per step of {ops} operations, against {baseline:F0} for as many additions of a constant");
    }
}
