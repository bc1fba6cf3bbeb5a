using NormSharp.Threading;

namespace NormSharp.Tests.Threading;

public class ParallelForTests
{
    private struct SumBody : IParallelBody
    {
        public long[] Partials;
        public void Execute(int chunk, int start, int end)
        {
            long s = 0;
            for (int i = start; i < end; i++) s += i;
            Partials[chunk] = s;
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1000, 7)]
    [InlineData(100_000, 1000)]
    public void EveryItemIsVisitedOnceAcrossChunks(int count, int grain)
    {
        for (int rep = 0; rep < 200; rep++)
        {
            var body = new SumBody { Partials = new long[ParallelFor.ChunkCount(count, grain)] };
            ParallelFor.Run(count, grain, ref body);
            Assert.Equal((long)count * (count - 1) / 2, body.Partials.Sum());
        }
    }

    private struct ThrowingBody : IParallelBody
    {
        public void Execute(int chunk, int start, int end)
        {
            if (chunk == 1) throw new InvalidOperationException("boom");
        }
    }

    [Fact]
    public void AFailingChunkSurfacesOnTheCaller()
    {
        if (ParallelFor.MaxThreads < 2) return;
        var body = new ThrowingBody();
        var e = Assert.ThrowsAny<Exception>(() => ParallelFor.Run(1000, 1, ref body));
        Assert.Contains("boom", e.ToString());
        // The pool still works afterwards.
        var sum = new SumBody { Partials = new long[ParallelFor.ChunkCount(1000, 1)] };
        ParallelFor.Run(1000, 1, ref sum);
        Assert.Equal(999L * 1000 / 2, sum.Partials.Sum());
    }
}
