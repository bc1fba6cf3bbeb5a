using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NormSharp.Threading;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Layer normalization over the last <c>cols</c> elements of each of <c>rows</c> rows (PyTorch semantics:
/// biased variance, rstd = 1/sqrt(var + eps), y = (x − mean)·rstd·weight + bias). Rows are split over the
/// cores. An empty weight or bias span means none; an empty dweight or dbias span means not wanted.
/// </summary>
public static unsafe class LayerNormKernels
{
    /// <summary>Normalizes each row of <paramref name="x"/> into <paramref name="y"/>, keeping mean and rstd per row for the backward.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, Span<float> mean, Span<float> rstd, int rows, int cols, float eps)
    {
        const string Op = "LayerNorm";
        RowNormalization.CheckRows(Op, rows, cols);
        RowNormalization.CheckEps(Op, eps);
        RowNormalization.CheckLength(Op, "x", x.Length, (long)rows * cols);
        RowNormalization.CheckLength(Op, "y", y.Length, (long)rows * cols);
        RowNormalization.CheckLength(Op, "mean", mean.Length, rows);
        RowNormalization.CheckLength(Op, "rstd", rstd.Length, rows);
        RowNormalization.CheckOptional(Op, "weight", weight.Length, cols);
        RowNormalization.CheckOptional(Op, "bias", bias.Length, cols);
        if (rows == 0) return;
        if (cols == 0)
        {
            mean.Clear();
            rstd.Fill(1f / MathF.Sqrt(eps));
            return;
        }
        fixed (float* px = x, pw = weight, pb = bias, py = y, pm = mean, pr = rstd)
        {
            var body = new ForwardBody
            {
                X = px, W = weight.IsEmpty ? null : pw, B = bias.IsEmpty ? null : pb,
                Y = py, Mean = pm, Rstd = pr, Cols = cols, Eps = eps,
            };
            ParallelFor.Run(rows, RowNormalization.Grain(cols), ref body);
        }
    }

    /// <summary>
    /// Gradients of a layer normalization given the upstream gradient <paramref name="dy"/>: dx always
    /// (overwritten), dweight and dbias when their spans are not empty (overwritten). One fused pass
    /// over the rows; the parameter gradients are summed per chunk and reduced once, in chunk order.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, Span<float> dx, Span<float> dweight, Span<float> dbias, int rows, int cols)
    {
        const string Op = "LayerNormBackward";
        RowNormalization.CheckRows(Op, rows, cols);
        long n = (long)rows * cols;
        RowNormalization.CheckLength(Op, "dy", dy.Length, n);
        RowNormalization.CheckLength(Op, "x", x.Length, n);
        RowNormalization.CheckLength(Op, "dx", dx.Length, n);
        RowNormalization.CheckLength(Op, "mean", mean.Length, rows);
        RowNormalization.CheckLength(Op, "rstd", rstd.Length, rows);
        RowNormalization.CheckOptional(Op, "weight", weight.Length, cols);
        RowNormalization.CheckOptional(Op, "dweight", dweight.Length, cols);
        RowNormalization.CheckOptional(Op, "dbias", dbias.Length, cols);
        dweight.Clear();
        dbias.Clear();
        if (rows == 0 || cols == 0) return;
        int grain = RowNormalization.Grain(cols);
        int chunks = ParallelFor.ChunkCount(rows, grain);
        bool wantW = !dweight.IsEmpty, wantB = !dbias.IsEmpty;
        float[] partial = RowScratch.Zeroed((wantW || wantB) ? 2 * chunks * cols : 0);
        fixed (float* pdy = dy, px = x, pw = weight, pm = mean, pr = rstd, pdx = dx, pp = partial)
        {
            var args = new BackwardArgs
            {
                Dy = pdy, X = px, W = weight.IsEmpty ? null : pw, Mean = pm, Rstd = pr, Dx = pdx,
                // When either parameter gradient is wanted both partial regions are written (one may go unread).
                PartialW = wantW || wantB ? pp : null, PartialB = wantW || wantB ? pp + chunks * cols : null, Cols = cols,
            };
            // The four variants are specialized at JIT time, so the inner loops carry no null checks.
            bool hasWeight = !weight.IsEmpty, grads = wantW || wantB;
            if (hasWeight && grads) RunBackward<Yes, Yes>(args, rows, chunks);
            else if (hasWeight) RunBackward<Yes, No>(args, rows, chunks);
            else if (grads) RunBackward<No, Yes>(args, rows, chunks);
            else RunBackward<No, No>(args, rows, chunks);
        }
        for (int c = 0; c < chunks; c++)
        {
            if (wantW) ElementwiseKernels.AddInPlace(dweight, partial.AsSpan(c * cols, cols));
            if (wantB) ElementwiseKernels.AddInPlace(dbias, partial.AsSpan((chunks + c) * cols, cols));
        }
    }

    private struct ForwardBody : IParallelBody
    {
        public float* X, W, B, Y, Mean, Rstd;
        public int Cols;
        public float Eps;

        // Kernels run long loops from their first call: compile them fully optimized rather than through tiering.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int chunk, int start, int end)
        {
            int n = Cols;
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * n;
                float* y = Y + (long)r * n;
                float k = x[0];
                RowNormalization.ShiftedSums(new ReadOnlySpan<float>(x, n), k, out double s1, out double s2);
                double d = s1 / n;
                double variance = Math.Max(s2 / n - d * d, 0.0);
                float rs = (float)(1.0 / Math.Sqrt(variance + Eps));
                Mean[r] = (float)(k + d);
                Rstd[r] = rs;
                NormalizeRow(x, y, W, B, n, k, (float)d, rs);
            }
        }
    }

    /// <summary>y = ((x − k) − d)·rstd·w + b for one row.</summary>
    private static void NormalizeRow(float* x, float* y, float* w, float* b, int n, float k, float d, float rs)
    {
        int i = 0;
        var kv = Vector256.Create(k);
        var dv = Vector256.Create(d);
        var rv = Vector256.Create(rs);
        if (w != null && b != null)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                var k5 = Vector512.Create(k);
                var d5 = Vector512.Create(d);
                var r5 = Vector512.Create(rs);
                for (; i <= n - 16; i += 16)
                {
                    var t = (Vector512.Load(x + i) - k5 - d5) * r5;
                    Vector512.FusedMultiplyAdd(t, Vector512.Load(w + i), Vector512.Load(b + i)).Store(y + i);
                }
            }
            for (; i <= n - 8; i += 8)
            {
                var t = (Vector256.Load(x + i) - kv - dv) * rv;
                Vector256.FusedMultiplyAdd(t, Vector256.Load(w + i), Vector256.Load(b + i)).Store(y + i);
            }
            for (; i < n; i++) y[i] = ((x[i] - k) - d) * rs * w[i] + b[i];
        }
        else if (w != null)
        {
            if (Vector512.IsHardwareAccelerated)
                for (; i <= n - 16; i += 16)
                    ((Vector512.Load(x + i) - Vector512.Create(k) - Vector512.Create(d)) * Vector512.Create(rs) * Vector512.Load(w + i)).Store(y + i);
            for (; i <= n - 8; i += 8)
                ((Vector256.Load(x + i) - kv - dv) * rv * Vector256.Load(w + i)).Store(y + i);
            for (; i < n; i++) y[i] = ((x[i] - k) - d) * rs * w[i];
        }
        else
        {
            for (; i <= n - 8; i += 8)
            {
                var t = (Vector256.Load(x + i) - kv - dv) * rv;
                if (b != null) t += Vector256.Load(b + i);
                t.Store(y + i);
            }
            for (; i < n; i++) y[i] = ((x[i] - k) - d) * rs + (b != null ? b[i] : 0f);
        }
    }

    private static void RunBackward<TWeight, TGrads>(BackwardArgs args, int rows, int chunks) where TWeight : struct, IFlag where TGrads : struct, IFlag
    {
        var body = new BackwardBody<TWeight, TGrads> { Args = args };
        ParallelFor.RunChunks(rows, chunks, ref body);
    }

    private struct BackwardArgs
    {
        public float* Dy, X, W, Mean, Rstd, Dx, PartialW, PartialB;
        public int Cols;
    }

    private struct BackwardBody<TWeight, TGrads> : IParallelBody where TWeight : struct, IFlag where TGrads : struct, IFlag
    {
        public BackwardArgs Args;

        // Kernels run long loops from their first call: compile them fully optimized rather than through tiering.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int chunk, int start, int end)
        {
            int n = Args.Cols;
            float* pw = TGrads.Value ? Args.PartialW + (long)chunk * n : null;
            float* pb = TGrads.Value ? Args.PartialB + (long)chunk * n : null;
            // Fields copied to locals: inside the loops the JIT would reload them after every store through a pointer.
            float* W = Args.W, X = Args.X, Dy = Args.Dy, Dx = Args.Dx, Rstd = Args.Rstd;
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * n;
                float* dy = Dy + (long)r * n;
                float* dx = Dx + (long)r * n;
                float k = x[0];
                float rs = Rstd[r];
                // Pass 1 needs no mean: Σ g·x̂ = rstd·(Σ g·(x−k) − d·Σ g), and d = Σ(x−k)/n is recomputed exactly here.
                RowSums(x, dy, TWeight.Value ? W : null, n, k, out double sg, out double sgx, out double sx);
                double d = sx / n;
                float meanG = (float)(sg / n);
                float meanGXhat = (float)(rs * (sgx - d * sg) / n);
                float df = (float)d;
                int i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var k5 = Vector512.Create(k);
                    var d5 = Vector512.Create(df);
                    var r5 = Vector512.Create(rs);
                    var mg5 = Vector512.Create(meanG);
                    var mgx5 = Vector512.Create(meanGXhat);
                    for (; i <= n - 16; i += 16)
                    {
                        var xhat = (Vector512.Load(x + i) - k5 - d5) * r5;
                        var dyv = Vector512.Load(dy + i);
                        var g = TWeight.Value ? dyv * Vector512.Load(W + i) : dyv;
                        (r5 * (g - mg5 - xhat * mgx5)).Store(dx + i);
                        if (TGrads.Value)
                        {
                            Vector512.FusedMultiplyAdd(dyv, xhat, Vector512.Load(pw + i)).Store(pw + i);
                            (Vector512.Load(pb + i) + dyv).Store(pb + i);
                        }
                    }
                }
                var kv = Vector256.Create(k);
                var dv = Vector256.Create(df);
                var rv = Vector256.Create(rs);
                var mg = Vector256.Create(meanG);
                var mgx = Vector256.Create(meanGXhat);
                for (; i <= n - 8; i += 8)
                {
                    var xhat = (Vector256.Load(x + i) - kv - dv) * rv;
                    var dyv = Vector256.Load(dy + i);
                    var g = TWeight.Value ? dyv * Vector256.Load(W + i) : dyv;
                    (rv * (g - mg - xhat * mgx)).Store(dx + i);
                    if (TGrads.Value)
                    {
                        Vector256.FusedMultiplyAdd(dyv, xhat, Vector256.Load(pw + i)).Store(pw + i);
                        (Vector256.Load(pb + i) + dyv).Store(pb + i);
                    }
                }
                for (; i < n; i++)
                {
                    float xhat = ((x[i] - k) - df) * rs;
                    float g = TWeight.Value ? dy[i] * W[i] : dy[i];
                    dx[i] = rs * (g - meanG - xhat * meanGXhat);
                    if (TGrads.Value)
                    {
                        pw[i] += dy[i] * xhat;
                        pb[i] += dy[i];
                    }
                }
            }
        }

        private static void RowSums(float* x, float* dy, float* w, int n, float k, out double sg, out double sgx, out double sx)
        {
            const int Block = 1024;
            sg = 0;
            sgx = 0;
            sx = 0;
            var kv = Vector256.Create(k);
            for (int s = 0; s < n; s += Block)
            {
                int e = Math.Min(n, s + Block);
                int i = s;
                double zg = 0, zgx = 0, zx = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var k5 = Vector512.Create(k);
                    var g5 = Vector512<float>.Zero; var gx5 = Vector512<float>.Zero; var x5 = Vector512<float>.Zero;
                    var h5 = Vector512<float>.Zero; var hx5 = Vector512<float>.Zero; var y5 = Vector512<float>.Zero;
                    for (; i <= e - 32; i += 32)
                    {
                        var xc0 = Vector512.Load(x + i) - k5;
                        var xc1 = Vector512.Load(x + i + 16) - k5;
                        var g0 = w == null ? Vector512.Load(dy + i) : Vector512.Load(dy + i) * Vector512.Load(w + i);
                        var g1 = w == null ? Vector512.Load(dy + i + 16) : Vector512.Load(dy + i + 16) * Vector512.Load(w + i + 16);
                        g5 += g0;
                        gx5 = Vector512.FusedMultiplyAdd(g0, xc0, gx5);
                        x5 += xc0;
                        h5 += g1;
                        hx5 = Vector512.FusedMultiplyAdd(g1, xc1, hx5);
                        y5 += xc1;
                    }
                    zg = Vector512.Sum(g5 + h5);
                    zgx = Vector512.Sum(gx5 + hx5);
                    zx = Vector512.Sum(x5 + y5);
                }
                var ag = Vector256<float>.Zero; var agx = Vector256<float>.Zero; var ax = Vector256<float>.Zero;
                var bgv = Vector256<float>.Zero; var bgxv = Vector256<float>.Zero; var bxv = Vector256<float>.Zero;
                for (; i <= e - 16; i += 16)
                {
                    var xc0 = Vector256.Load(x + i) - kv;
                    var xc1 = Vector256.Load(x + i + 8) - kv;
                    var g0 = w == null ? Vector256.Load(dy + i) : Vector256.Load(dy + i) * Vector256.Load(w + i);
                    var g1 = w == null ? Vector256.Load(dy + i + 8) : Vector256.Load(dy + i + 8) * Vector256.Load(w + i + 8);
                    ag += g0;
                    agx = Vector256.FusedMultiplyAdd(g0, xc0, agx);
                    ax += xc0;
                    bgv += g1;
                    bgxv = Vector256.FusedMultiplyAdd(g1, xc1, bgxv);
                    bxv += xc1;
                }
                ag += bgv;
                agx += bgxv;
                ax += bxv;
                for (; i <= e - 8; i += 8)
                {
                    var xc = Vector256.Load(x + i) - kv;
                    var g = w == null ? Vector256.Load(dy + i) : Vector256.Load(dy + i) * Vector256.Load(w + i);
                    ag += g;
                    agx = Vector256.FusedMultiplyAdd(g, xc, agx);
                    ax += xc;
                }
                double bg = zg + Vector256.Sum(ag), bgx = zgx + Vector256.Sum(agx), bx = zx + Vector256.Sum(ax);
                for (; i < e; i++)
                {
                    double xc = (double)x[i] - k;
                    double g = w == null ? dy[i] : (double)dy[i] * w[i];
                    bg += g;
                    bgx += g * xc;
                    bx += xc;
                }
                sg += bg;
                sgx += bgx;
                sx += bx;
            }
        }
    }

    /// <summary>A compile-time boolean: the JIT folds <c>T.Value</c> away in each specialization.</summary>
    private interface IFlag
    {
        static abstract bool Value { get; }
    }

    private struct Yes : IFlag
    {
        public static bool Value => true;
    }

    private struct No : IFlag
    {
        public static bool Value => false;
    }
}
