using NormSharp.Data.Text;

namespace NormSharp.Tests.Data.Text;

public class CharBatchSplitterTests
{
    private static CharBatch Batch(int count, int context) =>
        new(Enumerable.Range(0, count * context).ToArray(), Enumerable.Range(1000, count * context).ToArray(), count, context);

    [Fact]
    public void ConsecutiveSlicesHoldTheirWindowsAndTogetherTheWholeBatch()
    {
        var batch = Batch(5, 3);
        var parts = new[] { CharBatchSplitter.Instance.Slice(batch, 0, 2), CharBatchSplitter.Instance.Slice(batch, 2, 3) };
        Assert.Equal([2, 3], parts.Select(p => p.Count));
        Assert.All(parts, p => Assert.Equal(3, p.Context));
        Assert.Equal(batch.InputTokens.ToArray(), parts.SelectMany(p => p.InputTokens.ToArray()));
        Assert.Equal(batch.TargetTokens.ToArray(), parts.SelectMany(p => p.TargetTokens.ToArray()));
        Assert.Equal([6, 7, 8], parts[1].InputTokens[..3].ToArray());
    }

    [Fact]
    public void ASliceOwnsItsTokens()
    {
        var batch = Batch(2, 4);
        var part = CharBatchSplitter.Instance.Slice(batch, 1, 1);
        batch.Inputs[4] = -1; // the loader reuses its buffers for the next batch
        Assert.Equal(4, part.InputTokens[0]);
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(1, 2)]
    public void ASliceOutsideTheBatchIsRefused(int start, int count) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CharBatchSplitter.Instance.Slice(Batch(2, 4), start, count));
}
