using NormSharp.Kernels;
using NormSharp.Tensors;
using NormSharp.Threading;
using NormSharp.Tests.Kernels.Normalization;

namespace NormSharp.Tests.Kernels;

/// <summary>
/// Long reductions are split over the pool by blocks; their result must not depend on that. The thread count is
/// process-wide, so these tests share the collection whose tests run alone.
/// </summary>
[Collection(nameof(ChannelNormThreadingTests))]
[Trait("Category", "Kernels")]
public class ReductionThreadingTests
{
    private static double[] Reductions(float[] a, float[] b) =>
        [ElementwiseKernels.Sum(a), ElementwiseKernels.SumSquares(a), ElementwiseKernels.Dot(a, b), ElementwiseKernels.SquaredDistance(a, b)];

    [Theory]
    [InlineData(128 * 1024 - 1)] // just below the parallel threshold
    [InlineData(128 * 1024)]
    [InlineData(128 * 1024 + 1)] // a last block of one element
    [InlineData(1_000_017)]
    [InlineData(4_194_304 + 1_000)] // more blocks than fit on the stack: the pooled buffer
    public void LongReductionsGiveTheSameBitsOnOneThreadAndOnMany(int n)
    {
        var rng = new Rng(5);
        var a = new float[n];
        var b = new float[n];
        rng.FillUniform(a, -2f, 3f);
        rng.FillUniform(b, -1f, 1f);
        int keep = ParallelFor.MaxThreads;
        try
        {
            ParallelFor.MaxThreads = 1;
            var serial = Reductions(a, b);
            foreach (int threads in new[] { 2, 3, 8 })
            {
                ParallelFor.MaxThreads = threads;
                var parallel = Reductions(a, b);
                for (int i = 0; i < serial.Length; i++)
                    Assert.True(BitConverter.DoubleToInt64Bits(serial[i]) == BitConverter.DoubleToInt64Bits(parallel[i]),
                        $"reduction {i} at n={n}: {serial[i]:R} on one thread, {parallel[i]:R} on {threads}");
            }
            // And the value is right: Σ x² against a double reference.
            double reference = 0;
            foreach (float x in a) reference += (double)x * x;
            Assert.Equal(reference, serial[1], reference * 1e-6);
        }
        finally
        {
            ParallelFor.MaxThreads = keep;
        }
    }
}

/// <summary>The pool's chunk counts, which tell how much of the parallel work the workers took.</summary>
[Collection(nameof(ChannelNormThreadingTests))]
public class PoolChunkCountTests
{
    private struct Sleepy : IParallelBody
    {
        public void Execute(int chunk, int start, int end) => Thread.SpinWait(2000);
    }

    [Fact]
    public void EveryChunkHandedToThePoolIsCountedAndOnlyThose()
    {
        int keep = ParallelFor.MaxThreads;
        try
        {
            var body = new Sleepy();
            ParallelFor.MaxThreads = 2;
            ParallelFor.RunChunks(64, 64, ref body); // starts the pool
            var before = ParallelFor.PoolChunks;
            ParallelFor.RunChunks(64, 64, ref body);
            var pooled = ParallelFor.PoolChunks.Since(before);
            Assert.Equal(64, pooled.Offered);
            Assert.InRange(pooled.RunByWorkers, 0, 64);
            Assert.InRange(pooled.WorkerShare, 0.0, 1.0);

            // A loop on one thread runs inline: nothing is handed to the pool.
            ParallelFor.MaxThreads = 1;
            before = ParallelFor.PoolChunks;
            ParallelFor.RunChunks(64, 64, ref body);
            var inline = ParallelFor.PoolChunks.Since(before);
            Assert.Equal(0, inline.Offered);
            Assert.True(double.IsNaN(inline.WorkerShare));
        }
        finally
        {
            ParallelFor.MaxThreads = keep;
        }
    }
}
