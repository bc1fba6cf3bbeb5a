using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;
using NormSharp.Threading;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The row layout of the normalization core, shared by LayerNorm (centred) and RMSNorm (not centred): every row of
/// <c>cols</c> values is one group with per-element weight and bias. Rows are split over the pool in chunks fixed
/// by the row length (never by the thread count), so per-chunk parameter-gradient partials, added in chunk order,
/// give the same bits on any number of threads.
/// </summary>
internal static unsafe class RowNormalization
{
    /// <summary>Rows per parallel chunk: a chunk moves at least 64 KB.</summary>
    public static int Grain(int cols) => Math.Max(1, 16 * 1024 / Math.Max(1, cols));

    /// <summary>Most rows of a backward tile.</summary>
    private const int MaxTile = 16;

    /// <summary>
    /// Rows per backward tile: the tile's rows of x and dy (about 32 KB) stay in L1 between the pass that sums them
    /// and the pass that writes dx, and that pass keeps the parameter-gradient partials of a column in registers
    /// across the tile's rows.
    /// </summary>
    private static int Tile(int cols) => Math.Clamp(4096 / Math.Max(1, cols), 1, MaxTile);

    /// <summary>Normalizes rows [0, rows) of x into y, writing each row's mean (hi part; centred only) and rstd.</summary>
    public static void Forward(bool centered, float* x, float* w, float* b, float* y, float* mean, float* rstd, int rows, int cols, float eps)
    {
        if (centered) Forward<Yes>(x, w, b, y, mean, rstd, rows, cols, eps);
        else Forward<No>(x, w, b, y, mean, rstd, rows, cols, eps);
    }

    private static void Forward<TC>(float* x, float* w, float* b, float* y, float* mean, float* rstd, int rows, int cols, float eps) where TC : struct, IFlag
    {
        var body = new ForwardBody<TC> { X = x, W = w, B = b, Y = y, Mean = mean, Rstd = rstd, Cols = cols, Eps = eps };
        WidthParallel.Run(rows, Grain(cols), ref body);
    }

    /// <summary>
    /// dx for rows [0, rows) in <paramref name="chunks"/> chunks, and when <paramref name="partials"/> is not null the
    /// parameter-gradient partials: chunk c's Σ dy·x̂ at partials[c·cols] and (centred only) Σ dy at partials[(chunks + c)·cols].
    /// </summary>
    public static void Backward(bool centered, float* dy, float* x, float* w, float* mean, float* rstd, float* dx, float* partials, int rows, int cols, int chunks)
    {
        if (centered) Backward<Yes>(dy, x, w, mean, rstd, dx, partials, rows, cols, chunks);
        else Backward<No>(dy, x, w, mean, rstd, dx, partials, rows, cols, chunks);
    }

    private static void Backward<TC>(float* dy, float* x, float* w, float* mean, float* rstd, float* dx, float* partials, int rows, int cols, int chunks) where TC : struct, IFlag
    {
        if (partials != null) Backward<TC, Yes>(dy, x, w, mean, rstd, dx, partials, rows, cols, chunks);
        else Backward<TC, No>(dy, x, w, mean, rstd, dx, partials, rows, cols, chunks);
    }

    private static void Backward<TC, TG>(float* dy, float* x, float* w, float* mean, float* rstd, float* dx, float* partials, int rows, int cols, int chunks)
        where TC : struct, IFlag where TG : struct, IFlag
    {
        var body = new BackwardBody<TC, TG> { Dy = dy, X = x, W = w, Mean = mean, Rstd = rstd, Dx = dx, Partials = partials, Cols = cols, Chunks = chunks };
        WidthParallel.RunChunks(rows, chunks, ref body);
    }

    private struct ForwardBody<TC> : IParallelWidthBody where TC : struct, IFlag
    {
        public float* X, W, B, Y, Mean, Rstd;
        public int Cols;
        public float Eps;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            // The operands are chosen once per chunk; each combination is its own compiled loop.
            if (W != null && B != null) Rows<TV, Stream<TV>, Stream<TV>>(new(W), new(B), start, end);
            else if (W != null) Rows<TV, Stream<TV>, Constant<TV>>(new(W), new(TV.Zero), start, end);
            else if (B != null) Rows<TV, Constant<TV>, Stream<TV>>(new(TV.Create(1f)), new(B), start, end);
            else Rows<TV, Constant<TV>, Constant<TV>>(new(TV.Create(1f)), new(TV.Zero), start, end);
        }

        // Kernels run long loops from their first call: compile them fully optimized rather than through tiering.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Rows<TV, TW, TB>(TW w, TB b, int start, int end)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV> where TB : struct, IOperand<TB, TV>
        {
            int n = Cols;
            float* X = this.X, Y = this.Y;
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * n;
                float pivot = TC.Value ? x[0] : 0f;
                double s1 = 0, s2 = 0;
                Moments.Accumulate<TV>(x, n, pivot, ref s1, ref s2);
                float hi = 0f, lo = 0f, rs;
                if (TC.Value)
                {
                    Moments.Finish(pivot, s1, s2, n, Eps, out double mean, out _, out rs);
                    Moments.Split(mean, out hi, out lo);
                    Mean[r] = hi;
                }
                else
                {
                    rs = Moments.FinishRms(s2, n, Eps);
                }
                Rstd[r] = rs;
                // The next row, whose statistics come next, is requested while this one is normalized from cache.
                NormalizeStep.ForwardRun<TV, TW, TB>(x, Y + (long)r * n, n, hi, lo, rs, w, b, r + 1 < end ? x + n : null);
            }
        }
    }

    private struct BackwardBody<TC, TG> : IParallelWidthBody where TC : struct, IFlag where TG : struct, IFlag
    {
        public float* Dy, X, W, Mean, Rstd, Dx, Partials;
        public int Cols, Chunks;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            if (W != null) Rows<TV, Stream<TV>>(new(W), chunk, start, end);
            else Rows<TV, Constant<TV>>(new(TV.Create(1f)), chunk, start, end);
        }

        // Kernels run long loops from their first call: compile them fully optimized rather than through tiering.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Rows<TV, TW>(TW w, int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
        {
            int n = Cols;
            float* pw = TG.Value ? Partials + (long)chunk * n : null;
            float* pb = TG.Value && TC.Value ? Partials + (long)(Chunks + chunk) * n : null;
            RowConstants* k = stackalloc RowConstants[MaxTile];
            int tile = Tile(n);
            for (int t = start; t < end; t += tile)
            {
                int rows = Math.Min(tile, end - t);
                float* x = X + (long)t * n, dy = Dy + (long)t * n, dx = Dx + (long)t * n;
                for (int q = 0; q < rows; q++)
                {
                    float hi = TC.Value ? Mean[t + q] : 0f;
                    var terms = new GradientTerms<TV, TW, TC> { X = x + (long)q * n, Dy = dy + (long)q * n, W = w, Hi = TV.Create(hi) };
                    LaneSums.Run<TV, GradientTerms<TV, TW, TC>>(terms, n, out double sg, out double sgd, out double sd);
                    k[q] = RowConstants.From(TC.Value, hi, Rstd[t + q], sg, sgd, sd, n);
                }
                // The next tile's rows of x and dy are requested, line by line, while this tile is finished from cache.
                int next = Math.Min(tile, end - t - rows);
                int full = n - n % TV.Count;
                Columns<TV, TW>(x, dy, dx, w, pw, pb, k, rows, n, 0, full, next);
                if (full < n) PaddedColumns<TV, TW>(x, dy, dx, w, pw, pb, k, rows, n, full);
            }
        }

        /// <summary>dx over columns [j0, j1) of a tile, the partials of each column held in registers across its rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Columns<TV, TW>(float* x, float* dy, float* dx, TW w, float* pw, float* pb, RowConstants* k, int rows, nint stride, nint j0, nint j1, int prefetchRows)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
        {
            float* px = x + rows * stride, pdy = dy + rows * stride;
            for (nint j = j0; j < j1; j += TV.Count)
            {
                for (int q = 0; q < prefetchRows; q++)
                {
                    Prefetch.Read(px + q * stride + j);
                    Prefetch.Read(pdy + q * stride + j);
                }
                var wv = w.Load(j);
                TV sw = TG.Value ? TV.Load(pw + j) : TV.Zero;
                TV sb = TG.Value && TC.Value ? TV.Load(pb + j) : TV.Zero;
                for (int q = 0; q < rows; q++)
                {
                    nint o = q * stride + j;
                    var dyv = TV.Load(dy + o);
                    var dxv = NormalizeStep.Backward(TV.Load(x + o), dyv, wv, TV.Create(k[q].Hi), TV.Create(k[q].Lo), TV.Create(k[q].R),
                        TV.Create(k[q].MeanG), TV.Create(k[q].MeanGXhat), out var xhat);
                    TV.Store(dxv, dx + o);
                    if (TG.Value)
                    {
                        sw = TV.Fma(dyv, xhat, sw);
                        if (TC.Value) sb += dyv;
                    }
                }
                if (TG.Value)
                {
                    TV.Store(sw, pw + j);
                    if (TC.Value) TV.Store(sb, pb + j);
                }
            }
        }

        /// <summary>The last, partial vector of columns: each row's part copied into padded scratch and run through <see cref="Columns"/>.</summary>
        private static void PaddedColumns<TV, TW>(float* x, float* dy, float* dx, TW w, float* pw, float* pb, RowConstants* k, int rows, nint n, nint j0)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
        {
            int width = TV.Count, count = (int)(n - j0);
            float* scratch = stackalloc float[(3 * MaxTile + 3) * 16];
            float* xs = scratch, gs = scratch + MaxTile * 16, ds = scratch + 2 * MaxTile * 16;
            float* ps = scratch + 3 * MaxTile * 16;
            for (int q = 0; q < rows; q++)
            {
                Padding.Copy(x + q * n, j0, count, xs + q * width, width, 0f);
                Padding.Copy(dy + q * n, j0, count, gs + q * width, width, 0f);
            }
            var ws = w.Padded(j0, count, ps, width, 0f);
            float* pws = TG.Value ? Padding.Copy(pw, j0, count, ps + 16, width, 0f) : null;
            float* pbs = TG.Value && TC.Value ? Padding.Copy(pb, j0, count, ps + 32, width, 0f) : null;
            Columns<TV, TW>(xs - j0, gs - j0, ds - j0, ws, pws, pbs, k, rows, width, j0, j0 + width, 0);
            for (int q = 0; q < rows; q++)
                for (int j = 0; j < count; j++) dx[q * n + j0 + j] = ds[q * width + j];
            for (int j = 0; j < count && TG.Value; j++)
            {
                pw[j0 + j] = ps[16 + j];
                if (TC.Value) pb[j0 + j] = ps[32 + j];
            }
        }
    }
}
