using System.Runtime.InteropServices;

namespace NormSharp.Cli;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM (what <c>timeout</c>, <c>docker stop</c>, Kubernetes and Slurm send) ask a long
/// command to stop: the first signal cancels <see cref="Token"/>, so training finishes its current step, writes a
/// checkpoint and the command returns <see cref="ExitCode"/> (130 for SIGINT, 143 for SIGTERM, the shells'
/// 128 + signal number); a second signal ends the process at once with its own code.
/// </summary>
internal sealed class InterruptSignals : IDisposable
{
    /// <summary>Exit code after SIGINT.</summary>
    public const int SigIntExitCode = 130;

    /// <summary>Exit code after SIGTERM.</summary>
    public const int SigTermExitCode = 143;

    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter _error;
    private int _received;

    private InterruptSignals(TextWriter error)
    {
        _error = error;
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
    }

    /// <summary>
    /// The exit code of a training command whose run ended with <paramref name="status"/> (a <c>RunSummary</c>
    /// status): 0 finished, 130 or 143 interrupted by a signal, 1 for any other end (diverged, failed).
    /// </summary>
    public int ExitCodeFor(string status) => status switch
    {
        NormSharp.Experiments.Recipes.RunSummary.Finished => CommandLine.Ok,
        NormSharp.Experiments.Recipes.RunSummary.Interrupted => ExitCode ?? SigIntExitCode,
        _ => CommandLine.RuntimeFailure,
    };

    /// <summary>Starts listening (until disposed); messages go to <paramref name="error"/>.</summary>
    public static InterruptSignals Listen(TextWriter error) => new(error);

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>The exit code the first signal calls for, or null while none came.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>The first signal's name, or null.</summary>
    public string? SignalName { get; private set; }

    private void OnSignal(PosixSignalContext context)
    {
        // Handled here: the runtime's default (ending the process at once) applies only to a second signal.
        context.Cancel = true;
        string name = context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
        int code = context.Signal == PosixSignal.SIGTERM ? SigTermExitCode : SigIntExitCode;
        if (Interlocked.Increment(ref _received) == 1)
        {
            (ExitCode, SignalName) = (code, name);
            Say($"received {name}: finishing the current step and writing a checkpoint (a second signal exits at once)");
            _cts.Cancel();
            return;
        }
        Say($"received {name} again: exiting at once with code {code}");
        Environment.Exit(code);
    }

    private void Say(string message)
    {
        try
        {
            lock (_error)
            {
                _error.WriteLine(message);
                _error.Flush();
            }
        }
        catch (IOException)
        {
            // A closed terminal must not keep the signal from acting.
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
