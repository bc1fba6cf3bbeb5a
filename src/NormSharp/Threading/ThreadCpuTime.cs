using System.Runtime.InteropServices;

namespace NormSharp.Threading;

/// <summary>
/// CPU time consumed by the calling thread, in seconds (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>, nanosecond
/// resolution). On a machine shared with other work, wall time swings with the load while a thread's CPU
/// time stays close to the work it did: the benchmarks measure cost ratios with it, and the trainer logs each
/// step's (<c>step_cpu_ms</c>). NaN where the clock is unavailable (not Linux).
/// </summary>
public static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>True where the clock can be read.</summary>
    public static bool IsAvailable { get; } = OperatingSystem.IsLinux() && TryRead(out _);

    /// <summary>Seconds of CPU time of this thread, or NaN where unavailable.</summary>
    public static double Seconds() => IsAvailable && TryRead(out double s) ? s : double.NaN;

    private static bool TryRead(out double seconds)
    {
        seconds = double.NaN;
        try
        {
            if (ClockGetTime(ClockThreadCpuTimeId, out var t) != 0) return false;
            seconds = t.Seconds + t.Nanoseconds * 1e-9;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
