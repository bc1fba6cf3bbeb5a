namespace NormSharp.Tests.Distributed;

/// <summary>The Open MPI binding, exercised by real multi-process jobs.</summary>
[Trait("Category", "Distributed")]
public class MpiCommunicatorTests
{
    private const string Ranks = "NormSharp.MpiRanks.dll";

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void CollectivesGiveTheSameResultsOnEveryRank(int ranks)
    {
        var r = MpiJob.Run(ranks, Ranks, ["collectives"]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Output}\n{r.Error}");
        for (int i = 0; i < ranks; i++) Assert.Contains($"rank {i}/{ranks}: ok", r.Output);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void SyncBatchNormOverRanksEqualsBatchNormOverTheWholeBatch(int ranks)
    {
        var r = MpiJob.Run(ranks, Ranks, ["sync-batchnorm"]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Output}\n{r.Error}");
    }

    [Fact]
    public void NullReferencesStayExceptionsAfterMpiStarts()
    {
        var r = MpiJob.Run(2, Ranks, ["null-reference"]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Output}\n{r.Error}");
    }

    [Fact]
    public void ARankThatRaisesEndsTheJobWithAnErrorNamingIt()
    {
        var r = MpiJob.Run(3, Ranks, ["raise-on-rank", "1"], TimeSpan.FromSeconds(60));
        Assert.False(r.TimedOut, "the job hung instead of ending");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error: rank 1: injected fault on rank 1", r.Error + r.Output);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(30), $"the job took {r.Elapsed.TotalSeconds:F1} s to end");
    }

    [Fact]
    public void ARankThatDiesEndsTheJob()
    {
        var r = MpiJob.Run(3, Ranks, ["die-on-rank", "2"], TimeSpan.FromSeconds(60));
        Assert.False(r.TimedOut, "the job hung instead of ending");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("rank 2", r.Error + r.Output);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(30), $"the job took {r.Elapsed.TotalSeconds:F1} s to end");
    }
}
