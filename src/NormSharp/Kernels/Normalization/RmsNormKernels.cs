using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NormSharp.Threading;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// RMS normalization over the last <c>cols</c> elements of each row: rrms = 1/sqrt(mean(x²) + eps),
/// y = x·rrms·weight. No centring. An empty weight span means no gain; an empty dweight span means not wanted.
/// </summary>
public static unsafe class RmsNormKernels
{
    /// <summary>Normalizes each row, keeping rrms per row for the backward.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, Span<float> rrms, int rows, int cols, float eps)
    {
        const string Op = "RmsNorm";
        RowNormalization.CheckRows(Op, rows, cols);
        RowNormalization.CheckEps(Op, eps);
        RowNormalization.CheckLength(Op, "x", x.Length, (long)rows * cols);
        RowNormalization.CheckLength(Op, "y", y.Length, (long)rows * cols);
        RowNormalization.CheckLength(Op, "rrms", rrms.Length, rows);
        RowNormalization.CheckOptional(Op, "weight", weight.Length, cols);
        if (rows == 0) return;
        if (cols == 0)
        {
            rrms.Fill(1f / MathF.Sqrt(eps));
            return;
        }
        fixed (float* px = x, pw = weight, py = y, pr = rrms)
        {
            var body = new ForwardBody { X = px, W = weight.IsEmpty ? null : pw, Y = py, Rrms = pr, Cols = cols, Eps = eps };
            ParallelFor.Run(rows, RowNormalization.Grain(cols), ref body);
        }
    }

    /// <summary>
    /// Gradients given <paramref name="dy"/>: dx = rrms·(g − x·rrms²·mean(g·x)) with g = weight⊙dy (overwritten),
    /// and dweight = Σ dy·x·rrms over rows when wanted (overwritten, reduced in chunk order).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> rrms, Span<float> dx, Span<float> dweight, int rows, int cols)
    {
        const string Op = "RmsNormBackward";
        RowNormalization.CheckRows(Op, rows, cols);
        long n = (long)rows * cols;
        RowNormalization.CheckLength(Op, "dy", dy.Length, n);
        RowNormalization.CheckLength(Op, "x", x.Length, n);
        RowNormalization.CheckLength(Op, "dx", dx.Length, n);
        RowNormalization.CheckLength(Op, "rrms", rrms.Length, rows);
        RowNormalization.CheckOptional(Op, "weight", weight.Length, cols);
        RowNormalization.CheckOptional(Op, "dweight", dweight.Length, cols);
        dweight.Clear();
        if (rows == 0 || cols == 0) return;
        int grain = RowNormalization.Grain(cols);
        int chunks = ParallelFor.ChunkCount(rows, grain);
        bool wantW = !dweight.IsEmpty;
        float[] partial = RowScratch.Zeroed(wantW ? chunks * cols : 0);
        fixed (float* pdy = dy, px = x, pw = weight, pr = rrms, pdx = dx, pp = partial)
        {
            var body = new BackwardBody { Dy = pdy, X = px, W = weight.IsEmpty ? null : pw, Rrms = pr, Dx = pdx, PartialW = wantW ? pp : null, Cols = cols };
            ParallelFor.RunChunks(rows, chunks, ref body);
        }
        if (wantW)
            for (int c = 0; c < chunks; c++) ElementwiseKernels.AddInPlace(dweight, partial.AsSpan(c * cols, cols));
    }

    private struct ForwardBody : IParallelBody
    {
        public float* X, W, Y, Rrms;
        public int Cols;
        public float Eps;

        // Kernels run long loops from their first call: compile them fully optimized rather than through tiering.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int chunk, int start, int end)
        {
            int n = Cols;
            float* W = this.W, X = this.X, Y = this.Y, Rrms = this.Rrms;
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * n;
                float* y = Y + (long)r * n;
                double ms = RowNormalization.SumSquares(new ReadOnlySpan<float>(x, n)) / n;
                float rs = (float)(1.0 / Math.Sqrt(ms + Eps));
                Rrms[r] = rs;
                var rv = Vector256.Create(rs);
                int i = 0;
                if (W != null)
                {
                    if (Vector512.IsHardwareAccelerated)
                        for (; i <= n - 16; i += 16) (Vector512.Load(x + i) * Vector512.Create(rs) * Vector512.Load(W + i)).Store(y + i);
                    for (; i <= n - 8; i += 8) (Vector256.Load(x + i) * rv * Vector256.Load(W + i)).Store(y + i);
                    for (; i < n; i++) y[i] = x[i] * rs * W[i];
                }
                else
                {
                    for (; i <= n - 8; i += 8) (Vector256.Load(x + i) * rv).Store(y + i);
                    for (; i < n; i++) y[i] = x[i] * rs;
                }
            }
        }
    }

    private struct BackwardBody : IParallelBody
    {
        public float* Dy, X, W, Rrms, Dx, PartialW;
        public int Cols;

        // Kernels run long loops from their first call: compile them fully optimized rather than through tiering.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int chunk, int start, int end)
        {
            int n = Cols;
            float* pw = PartialW == null ? null : PartialW + (long)chunk * n;
            // Fields copied to locals: inside the loops the JIT would reload them after every store through a pointer.
            float* W = this.W, X = this.X, Dy = this.Dy, Dx = this.Dx, Rrms = this.Rrms;
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * n;
                float* dy = Dy + (long)r * n;
                float* dx = Dx + (long)r * n;
                float rs = Rrms[r];
                double sgx = 0;
                int i = 0;
                var acc = Vector256<float>.Zero;
                for (; i <= n - 8; i += 8)
                {
                    var g = W == null ? Vector256.Load(dy + i) : Vector256.Load(dy + i) * Vector256.Load(W + i);
                    acc = Vector256.FusedMultiplyAdd(g, Vector256.Load(x + i), acc);
                    if ((i & 1023) == 1016)
                    {
                        sgx += Vector256.Sum(acc);
                        acc = Vector256<float>.Zero;
                    }
                }
                sgx += Vector256.Sum(acc);
                for (; i < n; i++) sgx += (double)(W == null ? dy[i] : dy[i] * W[i]) * x[i];
                float c = (float)(sgx / n * rs * rs);
                var rv = Vector256.Create(rs);
                var cv = Vector256.Create(c);
                i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var r5 = Vector512.Create(rs);
                    var c5 = Vector512.Create(c);
                    for (; i <= n - 16; i += 16)
                    {
                        var xv = Vector512.Load(x + i);
                        var dyv = Vector512.Load(dy + i);
                        var g = W == null ? dyv : dyv * Vector512.Load(W + i);
                        (r5 * (g - xv * c5)).Store(dx + i);
                        if (pw != null) Vector512.FusedMultiplyAdd(dyv, xv * r5, Vector512.Load(pw + i)).Store(pw + i);
                    }
                }
                for (; i <= n - 8; i += 8)
                {
                    var xv = Vector256.Load(x + i);
                    var dyv = Vector256.Load(dy + i);
                    var g = W == null ? dyv : dyv * Vector256.Load(W + i);
                    (rv * (g - xv * cv)).Store(dx + i);
                    if (pw != null) Vector256.FusedMultiplyAdd(dyv, xv * rv, Vector256.Load(pw + i)).Store(pw + i);
                }
                for (; i < n; i++)
                {
                    float g = W == null ? dy[i] : dy[i] * W[i];
                    dx[i] = rs * (g - x[i] * c);
                    if (pw != null) pw[i] += dy[i] * x[i] * rs;
                }
            }
        }
    }
}
