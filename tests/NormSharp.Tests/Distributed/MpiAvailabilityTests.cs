using NormSharp.Distributed;

namespace NormSharp.Tests.Distributed;

public class MpiAvailabilityTests
{
    [Fact]
    public void OutsideMpirunTheProcessIsNotConsideredPartOfAJob()
    {
        // The test host is started by the test runner, not by mpirun.
        Assert.False(MpiCommunicator.IsLaunchedByMpirun);
    }

    [Fact]
    public void AMissingLibraryGivesInstallInstructions()
    {
        var e = Assert.Throws<MpiUnavailableException>(() => MpiCommunicator.Initialize("/nonexistent/libmpi.so.40"));
        Assert.IsAssignableFrom<NormSharp.Errors.NormSharpException>(e);
        Assert.Contains("apt-get install openmpi-bin", e.Message);
        Assert.Contains("/nonexistent/libmpi.so.40", e.Message);
    }
}
