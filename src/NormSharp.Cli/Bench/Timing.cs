using System.Diagnostics;

namespace NormSharp.Cli.Bench;

/// <summary>Repeats an action in rounds and reports the median seconds per call, after a warm-up that also lets the JIT reach its final tier.</summary>
internal static class Timing
{
    public static double MedianSeconds(Action action, TimeSpan minTime, int minRounds = 5)
    {
        for (int i = 0; i < 3; i++) action();
        var probe = Stopwatch.StartNew();
        int calls = 0;
        while (probe.Elapsed.TotalMilliseconds < 50 || calls < 3) { action(); calls++; }
        double perCall = probe.Elapsed.TotalSeconds / calls;
        int perRound = Math.Max(1, (int)(minTime.TotalSeconds / 10 / perCall));
        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (samples.Count < minRounds || total.Elapsed < minTime)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < perRound; i++) action();
            samples.Add(sw.Elapsed.TotalSeconds / perRound);
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }
}
