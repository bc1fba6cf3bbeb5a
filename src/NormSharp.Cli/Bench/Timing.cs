using System.Diagnostics;

namespace NormSharp.Cli.Bench;

/// <summary>Repeats actions in rounds and reports the median seconds per call, after a warm-up that also lets the JIT reach its final tier.</summary>
internal static class Timing
{
    public static double MedianSeconds(Action action, TimeSpan minTime, int minRounds = 5) => Interleaved([action], minTime, minRounds)[0];

    /// <summary>
    /// Median seconds per call of each action, measured in alternating rounds (a round of the first, a round of the
    /// second, …, repeated), so that a machine whose speed drifts (other programs, frequency changes) affects all of
    /// them alike and their ratios stay meaningful.
    /// </summary>
    public static double[] Interleaved(IReadOnlyList<Action> actions, TimeSpan minTime, int minRounds = 5)
    {
        int k = actions.Count;
        var perRound = new int[k];
        for (int a = 0; a < k; a++)
        {
            for (int i = 0; i < 3; i++) actions[a]();
            var probe = Stopwatch.StartNew();
            int calls = 0;
            while (probe.Elapsed.TotalMilliseconds < 30 || calls < 3) { actions[a](); calls++; }
            double perCall = probe.Elapsed.TotalSeconds / calls;
            perRound[a] = Math.Max(1, (int)(minTime.TotalSeconds / k / 10 / perCall));
        }
        var samples = new List<double>[k];
        for (int a = 0; a < k; a++) samples[a] = [];
        var total = Stopwatch.StartNew();
        while (samples[0].Count < minRounds || total.Elapsed < minTime)
        {
            for (int a = 0; a < k; a++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < perRound[a]; i++) actions[a]();
                samples[a].Add(sw.Elapsed.TotalSeconds / perRound[a]);
            }
        }
        var medians = new double[k];
        for (int a = 0; a < k; a++)
        {
            samples[a].Sort();
            medians[a] = samples[a][samples[a].Count / 2];
        }
        return medians;
    }
}
