using System.Text.Json;
using NormSharp.Tests.Support;

namespace NormSharp.Tests.Distributed;

/// <summary>`normsharp bench distributed` as a user runs it: one process, then the ranks it starts with mpirun.</summary>
[Trait("Category", "Distributed")]
public class BenchDistributedTests
{
    [Fact]
    public void ItReportsBothModelsAloneAndOnTwoRanksWithTheirGradientBytes()
    {
        using var dir = new TestData.TempDir();
        string json = Path.Combine(dir.Path, "distributed.json");
        var r = ChildProcess.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "NormSharp.Cli.dll"), "bench", "distributed",
            "--steps", "2", "--global-batch", "8", "--lm-batch", "2", "--json", json], TimeSpan.FromSeconds(240), new Dictionary<string, string> { ["TERM"] = "dumb" });
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Output}\n{r.Error}");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var steps = doc.RootElement.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(6, steps.Count);
        foreach (var (model, parameters) in new[] { ("mlp-784-1000-1000-10", 784 * 1000 + 1000 * 1000 + 1000 * 10 + 2010 + 4000 + 10), ("transformer-4x128-ctx128", -1) })
        {
            var cases = steps.Where(s => s.GetProperty("model").GetString() == model).ToList();
            Assert.Equal([1, 2, 2], cases.Select(c => c.GetProperty("ranks").GetInt32()));
            Assert.Equal(0, cases[0].GetProperty("gradient_bytes").GetInt64());
            long bytes = cases[1].GetProperty("gradient_bytes").GetInt64();
            Assert.Equal(bytes, cases[2].GetProperty("gradient_bytes").GetInt64());
            // Every parameter's gradient goes through the all-reduce once per step, with one flag per tensor (10 in the MLP).
            if (parameters > 0) Assert.Equal(4L * parameters, bytes);
            else Assert.InRange(bytes, 3_000_000, 3_600_000);
            Assert.All(cases, c => Assert.True(c.GetProperty("step_ms").GetDouble() > 0));
        }
        Assert.Contains("transformer-4x128-ctx128", r.Output);
    }
}
