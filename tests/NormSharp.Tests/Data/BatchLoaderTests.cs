using NormSharp.Data;
using NormSharp.Tensors;

namespace NormSharp.Tests.Data;

public class BatchLoaderTests
{
    private static Dataset Make(int n)
    {
        var images = Tensor.Zeros(n, 4);
        for (int i = 0; i < n; i++) images[i, 0] = i;
        return new Dataset("d", images, Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 3, 2, 2);
    }

    private static List<int> Order(BatchLoader loader, int epochs)
    {
        var seen = new List<int>();
        while (loader.Epoch < epochs)
            if (loader.Next())
                for (int i = 0; i < loader.Count; i++) seen.Add((int)loader.Batch[i, 0]);
        return seen;
    }

    [Fact]
    public void EachEpochIsAPermutationAndEpochsDiffer()
    {
        var order = Order(new BatchLoader(Make(10), 3, seed: 5), 2);
        Assert.Equal(20, order.Count);
        Assert.Equal(Enumerable.Range(0, 10), order.Take(10).Order());
        Assert.Equal(Enumerable.Range(0, 10), order.Skip(10).Order());
        Assert.NotEqual(order.Take(10), order.Skip(10));
        Assert.Equal(order, Order(new BatchLoader(Make(10), 3, seed: 5), 2));
        Assert.NotEqual(order, Order(new BatchLoader(Make(10), 3, seed: 6), 2));
    }

    [Fact]
    public void ResumingFromAStateGivesTheSameBatches()
    {
        var full = Order(new BatchLoader(Make(11), 4, seed: 9), 3);
        var first = new BatchLoader(Make(11), 4, seed: 9);
        var seen = new List<int>();
        for (int s = 0; s < 4; s++)
        {
            while (!first.Next()) { }
            for (int i = 0; i < first.Count; i++) seen.Add((int)first.Batch[i, 0]);
        }
        var state = first.GetState();
        var second = new BatchLoader(Make(11), 4, seed: 9);
        second.SetState(state);
        seen.AddRange(Order(second, 3));
        Assert.Equal(full, seen);
    }

    [Fact]
    public void LastBatchIsPartialUnlessDropped()
    {
        var l = new BatchLoader(Make(10), 4, seed: 1, shuffle: false);
        var counts = new List<int>();
        while (l.Next()) counts.Add(l.Count);
        Assert.Equal(new[] { 4, 4, 2 }, counts);
        Assert.Equal(new[] { 2, 4 }, l.Batch.Shape.ToArray());
        var d = new BatchLoader(Make(10), 4, seed: 1, dropLast: true);
        Assert.Equal(2, d.BatchesPerEpoch);
    }

    [Fact]
    public void StandardizationAndNoAllocationPerBatch()
    {
        var data = Make(1000);
        var stats = BatchLoader.Statistics(data);
        var l = new BatchLoader(data, 100, seed: 1, shuffle: false, standardization: stats);
        l.Next();
        Assert.Equal((7f - stats.Mean) / stats.Std, l.Batch[7, 0], 4);
        Assert.Equal((0f - stats.Mean) / stats.Std, l.Batch[7, 1], 4);
        while (l.Next()) { }
        l.Next();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 8; i++) l.Next();
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 512);
    }
}
