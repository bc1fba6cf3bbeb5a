using System.Diagnostics;
using System.Text;

namespace NormSharp.Tests.Support;

/// <summary>Runs a program as a child process with a time limit; past the limit the whole process tree is killed, so a hung job can never hang the test run.</summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string Output, string Error, TimeSpan Elapsed, bool TimedOut);

    public static Result Run(string program, IEnumerable<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        var output = new StringBuilder();
        var error = new StringBuilder();
        var sw = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool exited = p.WaitForExit((int)limit.TotalMilliseconds);
        if (!exited)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit();
        }
        p.WaitForExit(); // flush the asynchronous readers
        sw.Stop();
        lock (output) lock (error)
            return new Result(exited ? p.ExitCode : -1, output.ToString(), error.ToString(), sw.Elapsed, !exited);
    }
}
