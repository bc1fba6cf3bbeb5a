namespace NormSharp.Cli.Bench;

/// <summary>
/// One competing CPU-bound thread, as another program busy on the same cores would be, for measuring how a
/// benchmark holds up on a shared machine. The operating system schedules it like any other process's thread.
/// Runs until disposed.
/// </summary>
internal sealed class Contender : IDisposable
{
    private volatile bool _stop;
    private readonly Thread _thread;

    public Contender()
    {
        _thread = new Thread(Spin) { IsBackground = true, Name = "benchmark contender" };
        _thread.Start();
    }

    private void Spin()
    {
        // Dependent floating-point work the JIT cannot remove; the result is kept in a field.
        double x = 1.0;
        while (!_stop)
            for (int i = 0; i < 100_000; i++) x = x * 1.0000001 + 1e-9;
        Sink = x;
    }

    /// <summary>The spin's result, so its work is observable.</summary>
    public double Sink { get; private set; }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
