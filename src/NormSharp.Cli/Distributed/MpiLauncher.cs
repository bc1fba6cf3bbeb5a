using System.Diagnostics;
using System.Globalization;
using NormSharp.Distributed;

namespace NormSharp.Cli.Distributed;

/// <summary>Starts this same command-line tool on several ranks with Open MPI's <c>mpirun</c> and waits for the job.</summary>
internal static class MpiLauncher
{
    /// <summary>True when <c>mpirun</c> is on the PATH.</summary>
    public static bool IsAvailable =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(d => File.Exists(Path.Combine(d, "mpirun")));

    /// <summary>Runs <c>normsharp ARGS</c> on <paramref name="ranks"/> ranks; returns the exit code and the job's error output. Past <paramref name="limit"/> the job is killed.</summary>
    public static (int ExitCode, string Error) Run(int ranks, IEnumerable<string> args, TimeSpan limit)
    {
        string self = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo("mpirun") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        // Open MPI refuses to start as root unless told, and needs --oversubscribe to run more ranks than cores.
        if (Environment.UserName == "root") psi.ArgumentList.Add("--allow-run-as-root");
        psi.ArgumentList.Add("--oversubscribe");
        psi.ArgumentList.Add("-np");
        psi.ArgumentList.Add(ranks.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(self);
        // Started through 'dotnet NormSharp.Cli.dll', the process path is dotnet: pass the assembly too.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(MpiLauncher).Assembly.Location);
        foreach (var x in args) psi.ArgumentList.Add(x);
        // The ranks see a pseudo-terminal: keep escape codes out of their output.
        psi.Environment["TERM"] = "dumb";
        Process job;
        try
        {
            job = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MpiUnavailableException("this needs Open MPI's mpirun; install it with 'apt-get install openmpi-bin'", e);
        }
        using (job)
        {
            var stderr = job.StandardError.ReadToEndAsync();
            _ = job.StandardOutput.ReadToEndAsync();
            if (!job.WaitForExit(limit))
            {
                job.Kill(entireProcessTree: true);
                job.WaitForExit();
                return (-1, $"error: the {ranks}-rank job did not finish within {limit.TotalMinutes:F0} minutes and was stopped\n" + stderr.Result);
            }
            job.WaitForExit();
            return (job.ExitCode, stderr.Result);
        }
    }
}
