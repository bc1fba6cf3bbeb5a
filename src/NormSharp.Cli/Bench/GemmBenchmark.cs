using System.Text.Json.Serialization;
using NormSharp.Kernels;
using NormSharp.Tensors;

namespace NormSharp.Cli.Bench;

/// <summary>
/// GFLOP/s of <see cref="Gemm"/> in the three products a Linear layer with input X[m,k] and weight W[n,k] runs:
/// the forward X·Wᵀ (<c>NT</c>), and in the backward dX = dY·W (<c>NN</c>) and dW = dYᵀ·X (<c>TN</c>). A case is
/// named by the forward's m×k×n.
/// </summary>
internal static class GemmBenchmark
{
    public static readonly IReadOnlyList<(int M, int K, int N)> DefaultCases = [(128, 784, 1000), (128, 1000, 1000), (4, 1000, 1000), (1024, 1024, 1024)];

    public sealed record Report([property: JsonPropertyName("threads")] int Threads, [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    public sealed record Case([property: JsonPropertyName("m")] int M, [property: JsonPropertyName("k")] int K, [property: JsonPropertyName("n")] int N,
        [property: JsonPropertyName("product")] string Product, [property: JsonPropertyName("gflops")] double Gflops);

    /// <summary>The products of a Linear layer, named by which operands are transposed.</summary>
    public static readonly IReadOnlyList<string> Products = ["NT", "NN", "TN"];

    public static Report Run(IReadOnlyList<(int M, int K, int N)> cases, TimeSpan minTimePerCase, Action<string>? log)
    {
        var rng = new Rng(7);
        var results = new List<Case>();
        foreach (var (m, k, n) in cases)
        {
            log?.Invoke($"gemm {m}x{k}x{n}...");
            var x = new float[m * k];
            var w = new float[n * k];
            var dy = new float[m * n];
            var y = new float[m * n];
            var dx = new float[m * k];
            var dw = new float[n * k];
            rng.FillUniform(x, -1, 1);
            rng.FillUniform(w, -1, 1);
            rng.FillUniform(dy, -1, 1);
            double flops = 2.0 * m * n * k;
            foreach (string name in Products)
            {
                Action run = name switch
                {
                    "NT" => () => Gemm.Multiply(false, true, m, n, k, 1f, x, k, w, k, 0f, y, n),
                    "NN" => () => Gemm.Multiply(false, false, m, k, n, 1f, dy, n, w, k, 0f, dx, k),
                    _ => () => Gemm.Multiply(true, false, n, k, m, 1f, dy, n, x, k, 0f, dw, k),
                };
                results.Add(new Case(m, k, n, name, flops / Timing.MedianSeconds(run, minTimePerCase) / 1e9));
            }
        }
        return new Report(NormSharp.Threading.ParallelFor.MaxThreads, results);
    }
}
