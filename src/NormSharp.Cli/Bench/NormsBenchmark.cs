using System.Runtime.Intrinsics;
using System.Text.Json.Serialization;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;
using NormSharp.Threading;

namespace NormSharp.Cli.Bench;

/// <summary>
/// LayerNorm and RMSNorm bandwidth as a fraction of the machine's copy bandwidth, measured in the same
/// process with the same threads, the copy of the same number of bytes timed in rounds alternating with the
/// kernel's. Traffic: 2 floats per element forward (read x, write y), 5 for forward+backward (adding read dy,
/// read x, write dx).
/// </summary>
internal static class NormsBenchmark
{
    public static readonly IReadOnlyList<(int Rows, int Cols)> DefaultShapes = [(65536, 64), (16384, 256), (8192, 768), (4096, 1024), (1024, 4096), (64, 1024)];

    public sealed record Report(
        [property: JsonPropertyName("threads")] int Threads,
        [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    public sealed record Case(
        [property: JsonPropertyName("op")] string Op,
        [property: JsonPropertyName("rows")] int Rows,
        [property: JsonPropertyName("cols")] int Cols,
        [property: JsonPropertyName("copy_gbps")] double CopyGbps,
        [property: JsonPropertyName("fwd_gbps")] double FwdGbps,
        [property: JsonPropertyName("fwd_vs_copy")] double FwdVsCopy,
        [property: JsonPropertyName("fwdbwd_gbps")] double FwdBwdGbps,
        [property: JsonPropertyName("fwdbwd_vs_copy")] double FwdBwdVsCopy);

    private unsafe struct CopyBody : IParallelBody
    {
        public float* Src, Dst;

        // The same 256-bit loads and stores the kernels use, so the ratio compares like with like.
        public void Execute(int chunk, int start, int end)
        {
            int i = start;
            for (; i <= end - 32; i += 32)
            {
                var a = Vector256.Load(Src + i);
                var b = Vector256.Load(Src + i + 8);
                var c = Vector256.Load(Src + i + 16);
                var d = Vector256.Load(Src + i + 24);
                a.Store(Dst + i);
                b.Store(Dst + i + 8);
                c.Store(Dst + i + 16);
                d.Store(Dst + i + 24);
            }
            for (; i < end; i++) Dst[i] = Src[i];
        }
    }

    /// <summary>Copies <paramref name="src"/> into <paramref name="dst"/>, split like a kernel's rows.</summary>
    private static unsafe void Copy(float[] src, float[] dst)
    {
        fixed (float* ps = src, pd = dst)
        {
            var body = new CopyBody { Src = ps, Dst = pd };
            ParallelFor.Run(src.Length, 16 * 1024, ref body);
        }
    }

    public static Report Run(IReadOnlyList<(int Rows, int Cols)> shapes, TimeSpan minTimePerCase, Action<string>? log)
    {
        var rng = new Rng(3);
        var cases = new List<Case>();
        foreach (var (rows, cols) in shapes)
        {
            int n = rows * cols;
            var x = new float[n];
            var y = new float[n];
            var dy = new float[n];
            var dx = new float[n];
            var w = new float[cols];
            var b = new float[cols];
            var dw = new float[cols];
            var db = new float[cols];
            var mean = new float[rows];
            var rstd = new float[rows];
            rng.FillUniform(x, -2, 2);
            rng.FillUniform(dy, -1, 1);
            rng.FillUniform(w, 0.5f, 1.5f);
            rng.FillUniform(b, -0.5f, 0.5f);
            double bytes = (double)n * 4;

            log?.Invoke($"copy, layer_norm and rms_norm {rows}x{cols}...");
            double[] t = Timing.Interleaved(
            [
                () => Copy(x, y),
                () => LayerNormKernels.Forward(x, w, b, y, mean, rstd, rows, cols, 1e-5f),
                () =>
                {
                    LayerNormKernels.Forward(x, w, b, y, mean, rstd, rows, cols, 1e-5f);
                    LayerNormKernels.Backward(dy, x, w, mean, rstd, dx, dw, db, rows, cols);
                },
                () => RmsNormKernels.Forward(x, w, y, rstd, rows, cols, 1e-5f),
                () =>
                {
                    RmsNormKernels.Forward(x, w, y, rstd, rows, cols, 1e-5f);
                    RmsNormKernels.Backward(dy, x, w, rstd, dx, dw, rows, cols);
                },
            ], minTimePerCase);
            double copy = 2 * bytes / t[0];
            cases.Add(MakeCase("layer_norm", rows, cols, copy, 2 * bytes / t[1], 5 * bytes / t[2]));
            cases.Add(MakeCase("rms_norm", rows, cols, copy, 2 * bytes / t[3], 5 * bytes / t[4]));
        }
        return new Report(ParallelFor.MaxThreads, cases);
    }

    private static Case MakeCase(string op, int rows, int cols, double copyBytesPerSecond, double fwdBytesPerSecond, double fwdBwdBytesPerSecond)
    {
        double c = copyBytesPerSecond / 1e9, f = fwdBytesPerSecond / 1e9, fb = fwdBwdBytesPerSecond / 1e9;
        return new Case(op, rows, cols, c, f, f / c, fb, fb / c);
    }
}
