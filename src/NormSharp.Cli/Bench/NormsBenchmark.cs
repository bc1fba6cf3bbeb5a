using System.Runtime.Intrinsics;
using System.Text.Json.Serialization;
using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;
using NormSharp.Threading;

namespace NormSharp.Cli.Bench;

/// <summary>
/// LayerNorm and RMSNorm bandwidth as a fraction of the machine's copy bandwidth, measured in the same
/// process with the same threads. Traffic: 2 floats per element forward (read x, write y), 5 for
/// forward+backward (adding read dy, read x, write dx).
/// </summary>
internal static class NormsBenchmark
{
    public static readonly IReadOnlyList<(int Rows, int Cols)> DefaultShapes = [(65536, 64), (16384, 256), (8192, 768), (4096, 1024), (1024, 4096), (64, 1024)];

    public sealed record Report(
        [property: JsonPropertyName("threads")] int Threads,
        [property: JsonPropertyName("copy_gbps")] double CopyGbps,
        [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    public sealed record Case(
        [property: JsonPropertyName("op")] string Op,
        [property: JsonPropertyName("rows")] int Rows,
        [property: JsonPropertyName("cols")] int Cols,
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

    /// <summary>Copy bandwidth (read + write bytes per second) over buffers of <paramref name="elements"/> floats, split like a kernel's rows.</summary>
    public static unsafe double CopyGbps(int elements, TimeSpan minTime)
    {
        var src = new float[elements];
        var dst = new float[elements];
        new Rng(1).FillUniform(src, -1, 1);
        double seconds = Timing.MedianSeconds(() =>
        {
            fixed (float* ps = src, pd = dst)
            {
                var body = new CopyBody { Src = ps, Dst = pd };
                ParallelFor.Run(elements, 16 * 1024, ref body);
            }
        }, minTime);
        return 2.0 * elements * 4 / seconds / 1e9;
    }

    public static Report Run(IReadOnlyList<(int Rows, int Cols)> shapes, TimeSpan minTimePerCase, Action<string>? log)
    {
        // The copy moves as many bytes as a typical case's forward (the median case size), with the same threads.
        var sizes = shapes.Select(s => s.Rows * s.Cols).OrderBy(v => v).ToArray();
        int reference = sizes[sizes.Length / 2];
        log?.Invoke($"copy bandwidth over 2 x {reference * 4L / (1 << 20)} MiB...");
        double copy = CopyGbps(reference, minTimePerCase);
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

            log?.Invoke($"layer_norm {rows}x{cols}...");
            double lnF = Timing.MedianSeconds(() => LayerNormKernels.Forward(x, w, b, y, mean, rstd, rows, cols, 1e-5f), minTimePerCase);
            double lnFb = Timing.MedianSeconds(() =>
            {
                LayerNormKernels.Forward(x, w, b, y, mean, rstd, rows, cols, 1e-5f);
                LayerNormKernels.Backward(dy, x, w, mean, rstd, dx, dw, db, rows, cols);
            }, minTimePerCase);
            cases.Add(MakeCase("layer_norm", rows, cols, 2 * bytes / lnF, 5 * bytes / lnFb, copy));

            log?.Invoke($"rms_norm {rows}x{cols}...");
            double rmsF = Timing.MedianSeconds(() => RmsNormKernels.Forward(x, w, y, rstd, rows, cols, 1e-5f), minTimePerCase);
            double rmsFb = Timing.MedianSeconds(() =>
            {
                RmsNormKernels.Forward(x, w, y, rstd, rows, cols, 1e-5f);
                RmsNormKernels.Backward(dy, x, w, rstd, dx, dw, rows, cols);
            }, minTimePerCase);
            cases.Add(MakeCase("rms_norm", rows, cols, 2 * bytes / rmsF, 5 * bytes / rmsFb, copy));
        }
        return new Report(ParallelFor.MaxThreads, copy, cases);
    }

    private static Case MakeCase(string op, int rows, int cols, double fwdBytesPerSecond, double fwdBwdBytesPerSecond, double copy)
    {
        double f = fwdBytesPerSecond / 1e9, fb = fwdBwdBytesPerSecond / 1e9;
        return new Case(op, rows, cols, f, f / copy, fb, fb / copy);
    }
}
