using NormSharp.Tests.Support;

namespace NormSharp.Tests.Distributed;

/// <summary>Starts a job of several ranks with Open MPI's mpirun (the test host itself cannot be a rank).</summary>
internal static class MpiJob
{
    /// <summary>The mpirun executable, or a failure that says how to install it (the project's .ci/run installs openmpi-bin).</summary>
    public static string Mpirun
    {
        get
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                string candidate = Path.Combine(dir, "mpirun");
                if (File.Exists(candidate)) return candidate;
            }
            throw new InvalidOperationException("mpirun was not found: the distributed tests need Open MPI ('apt-get install openmpi-bin'; .ci/run installs it).");
        }
    }

    /// <summary>Runs <paramref name="dll"/> (a .NET program in the test output folder) on <paramref name="ranks"/> ranks.</summary>
    public static ChildProcess.Result Run(int ranks, string dll, IEnumerable<string> args, TimeSpan? limit = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var env = new Dictionary<string, string> { ["TERM"] = "dumb" };
        if (environment is not null) foreach (var (k, v) in environment) env[k] = v;
        string[] mpiArgs = ["--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", Path.Combine(AppContext.BaseDirectory, dll), .. args];
        return ChildProcess.Run(Mpirun, mpiArgs, limit ?? TimeSpan.FromSeconds(120), env);
    }
}
