using System.Text.Json.Serialization;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Cli.Bench;

/// <summary>GFLOP/s of <see cref="Gemm"/> in a Linear layer's orientation: X[m,k]·W[n,k]ᵀ.</summary>
internal static class GemmBenchmark
{
    public static readonly IReadOnlyList<(int M, int K, int N)> DefaultCases = [(128, 784, 1000), (128, 1000, 1000), (4, 1000, 1000), (1024, 1024, 1024)];

    public sealed record Report([property: JsonPropertyName("threads")] int Threads, [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    public sealed record Case([property: JsonPropertyName("m")] int M, [property: JsonPropertyName("k")] int K, [property: JsonPropertyName("n")] int N, [property: JsonPropertyName("gflops")] double Gflops);

    public static Report Run(IReadOnlyList<(int M, int K, int N)> cases, TimeSpan minTimePerCase, Action<string>? log)
    {
        var rng = new Rng(7);
        var results = new List<Case>();
        foreach (var (m, k, n) in cases)
        {
            log?.Invoke($"gemm {m}x{k}x{n}...");
            var a = new float[m * k];
            var b = new float[n * k];
            var c = new float[m * n];
            rng.FillUniform(a, -1, 1);
            rng.FillUniform(b, -1, 1);
            double seconds = Timing.MedianSeconds(() => Gemm.Multiply(false, true, m, n, k, 1f, a, k, b, k, 0f, c, n), minTimePerCase);
            results.Add(new Case(m, k, n, 2.0 * m * n * k / seconds / 1e9));
        }
        return new Report(NormSharp.Threading.ParallelFor.MaxThreads, results);
    }
}
