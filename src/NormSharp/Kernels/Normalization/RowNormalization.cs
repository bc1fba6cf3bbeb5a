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
    /// dx for rows [0, rows) in <paramref name="chunks"/> chunks, and when <paramref name="partials"/> is given the
    /// parameter-gradient partials of each chunk: Σ dy·x̂ at its weight region and (centred only) Σ dy at its bias region.
    /// </summary>
    /// <remarks>
    /// The caller places the partials with <see cref="PartialsPhase"/>: the loops read and write them every row, and a
    /// store that straddles two lines followed by a load of the same place makes the load wait for the store.
    /// </remarks>
    public static void Backward(bool centered, float* dy, float* x, float* w, float* mean, float* rstd, float* dx, RowPartials.Layout? partials, int rows, int cols, int chunks)
    {
        if (centered) Backward<Yes>(dy, x, w, mean, rstd, dx, partials, rows, cols, chunks);
        else Backward<No>(dy, x, w, mean, rstd, dx, partials, rows, cols, chunks);
    }

    /// <summary>
    /// Where within a 64-byte line the backward wants its partials: at the rows' position when the rows take the
    /// aligned pass, else at the line's start (the unaligned pass reads them from column 0).
    /// </summary>
    public static int PartialsPhase(float* x, float* dy, float* dx, int cols) =>
        Widths.Active == VectorWidth.Bits512 && AlignedRows.Phase(Widths.Active, cols, x, dy, dx) >= 0 ? (int)(((nuint)dx & 63) >> 2) : 0;

    /// <summary>
    /// The backward's aligned pass: taken with 16-lane vectors only. With 8 lanes (AVX2) it was measured no faster
    /// than the unaligned pass, and its row loop (passes as calls of their own) slower than the inlined one.
    /// </summary>
    private static int BackwardPhase<TV>(int cols, float* x, float* dy, float* dx) where TV : unmanaged, IFloatVector<TV> =>
        TV.Count == 16 ? AlignedRows.Phase<TV>(cols, x, dy, dx) : -1;

    private static void Backward<TC>(float* dy, float* x, float* w, float* mean, float* rstd, float* dx, RowPartials.Layout? partials, int rows, int cols, int chunks) where TC : struct, IFlag
    {
        if (partials is { } layout) Backward<TC, Yes>(dy, x, w, mean, rstd, dx, layout, rows, cols, chunks);
        else Backward<TC, No>(dy, x, w, mean, rstd, dx, default, rows, cols, chunks);
    }

    private static void Backward<TC, TG>(float* dy, float* x, float* w, float* mean, float* rstd, float* dx, RowPartials.Layout partials, int rows, int cols, int chunks)
        where TC : struct, IFlag where TG : struct, IFlag
    {
        var body = new BackwardBody<TC, TG> { Dy = dy, X = x, W = w, Mean = mean, Rstd = rstd, Dx = dx, Partials = partials, Cols = cols };
        WidthParallel.RunChunks(rows, chunks, ref body);
    }

    private struct ForwardBody<TC> : IParallelWidthBody where TC : struct, IFlag
    {
        public float* X, W, B, Y, Mean, Rstd;
        public int Cols;
        public float Eps;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            int n = Cols, phase = AlignedRows.Phase<TV>(n, X, Y);
            float* w = W, b = B;
            if (phase >= 0)
            {
                // Parameters at another position than the rows are copied to it (placed clear of y, see Placement).
                int copy = AlignedRows.CopyFloats(n);
                float* scratch = KernelScratch.Aligned(2 * copy);
                w = AlignedRows.Matched<TV>(w, n, Y, Placement.ForwardWeight, scratch);
                b = AlignedRows.Matched<TV>(b, n, Y, Placement.ForwardBias, scratch + copy);
            }
            if (phase >= 0) Operands<TV, Yes>(w, b, start, end, AlignedRows.Head<TV>(phase));
            else Operands<TV, No>(w, b, start, end, 0);
        }

        private readonly void Operands<TV, TA>(float* w, float* b, int start, int end, int head) where TV : unmanaged, IFloatVector<TV> where TA : struct, IFlag
        {
            // The operands are chosen once per chunk; each combination is its own compiled loop.
            if (w != null && b != null) Rows<TV, Stream<TV>, Stream<TV>, TA>(new(w), new(b), start, end, head);
            else if (w != null) Rows<TV, Stream<TV>, Constant<TV>, TA>(new(w), new(TV.Zero), start, end, head);
            else if (b != null) Rows<TV, Constant<TV>, Stream<TV>, TA>(new(TV.Create(1f)), new(b), start, end, head);
            else Rows<TV, Constant<TV>, Constant<TV>, TA>(new(TV.Create(1f)), new(TV.Zero), start, end, head);
        }

        // Kernels run long loops from their first call: compile them fully optimized rather than through tiering.
        // TA: the rows take the aligned pass (AlignedRows), whose first aligned element is head, by a call of its own
        // whose loop keeps its pointers in registers; other rows are normalized inline.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Rows<TV, TW, TB, TA>(TW w, TB b, int start, int end, int head)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV> where TB : struct, IOperand<TB, TV> where TA : struct, IFlag
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
                // The next row, whose statistics come next, is requested while this one is normalized from cache
                // (long rows only: the hardware prefetcher keeps up with short ones).
                float* y = Y + (long)r * n, next = r + 1 < end && n >= 256 ? x + n : null;
                if (TA.Value) AlignedRow<TV, TW, TB>(x, y, n, head, hi, lo, rs, w, b, next);
                else NormalizeStep.ForwardRun<TV, TW, TB>(x, y, n, hi, lo, rs, w, b, next);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static void AlignedRow<TV, TW, TB>(float* x, float* y, nint n, nint head, float hi, float lo, float r, TW w, TB b, float* next)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV> where TB : struct, IOperand<TB, TV> =>
            AlignedRows.Forward<TV, TW, TB>(x, y, n, head, hi, lo, r, w, b, next);
    }

    private struct BackwardBody<TC, TG> : IParallelWidthBody where TC : struct, IFlag where TG : struct, IFlag
    {
        public float* Dy, X, W, Mean, Rstd, Dx;
        public RowPartials.Layout Partials;
        public int Cols;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            // The same choice as PartialsPhase's, which placed the partials.
            int n = Cols, phase = BackwardPhase<TV>(n, X, Dy, Dx);
            float* w = phase >= 0 ? AlignedRows.Matched<TV>(W, n, Dx, Placement.BackwardWeight, KernelScratch.Aligned(AlignedRows.CopyFloats(n))) : W;
            float* pw = TG.Value ? Partials.WeightOf(chunk) : null, pb = TG.Value && TC.Value ? Partials.BiasOf(chunk) : null;
            if (phase >= 0)
            {
                if (w != null) AlignedRowLoop<TV, Stream<TV>>(new(w), pw, pb, start, end, AlignedRows.Head<TV>(phase));
                else AlignedRowLoop<TV, Constant<TV>>(new(TV.Create(1f)), pw, pb, start, end, AlignedRows.Head<TV>(phase));
            }
            else
            {
                if (w != null) Rows<TV, Stream<TV>>(new(w), pw, pb, start, end);
                else Rows<TV, Constant<TV>>(new(TV.Create(1f)), pw, pb, start, end);
            }
        }

        // Rows on the unaligned pass: both passes inlined into the row loop. Kernels run long loops from their first
        // call: compile them fully optimized rather than through tiering.
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private readonly void Rows<TV, TW>(TW w, float* pw, float* pb, int start, int end) where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
        {
            int n = Cols;
            int full = n - n % TV.Count;
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * n, dy = Dy + (long)r * n, dx = Dx + (long)r * n;
                float hi = TC.Value ? Mean[r] : 0f;
                var terms = new GradientTerms<TV, TW, TC> { X = x, Dy = dy, W = w, Hi = TV.Create(hi) };
                LaneSums.Run<TV, GradientTerms<TV, TW, TC>>(terms, n, out double sg, out double sgd, out double sd);
                var k = RowConstants.From(TC.Value, hi, Rstd[r], sg, sgd, sd, n);
                Row<TV, TW>(x, dy, dx, w, pw, pb, k, 0, full);
                if (full < n) PaddedRow<TV, TW>(x, dy, dx, w, pw, pb, k, n, full);
            }
        }

        // Rows on the aligned pass, whose first aligned element is head; the row's passes are calls of their own.
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private readonly void AlignedRowLoop<TV, TW>(TW w, float* pw, float* pb, int start, int end, int head)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
        {
            int n = Cols;
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * n, dy = Dy + (long)r * n, dx = Dx + (long)r * n;
                float hi = TC.Value ? Mean[r] : 0f;
                var terms = new GradientTerms<TV, TW, TC> { X = x, Dy = dy, W = w, Hi = TV.Create(hi) };
                RowSums(terms, n, out double sg, out double sgd, out double sd);
                var k = RowConstants.From(TC.Value, hi, Rstd[r], sg, sgd, sd, n);
                AlignedRow<TV, TW>(x, dy, dx, w, pw, pb, k, n, head);
            }
        }

        // The row's passes compiled on their own, each a small method whose pointers and constants stay in registers
        // (inlined into the row loop, the loop's many live values pushed them to the stack).
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static void RowSums<TV, TW>(GradientTerms<TV, TW, TC> terms, nint n, out double sg, out double sgd, out double sd)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV> =>
            LaneSums.Run<TV, GradientTerms<TV, TW, TC>>(terms, n, out sg, out sgd, out sd);

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private static void AlignedRow<TV, TW>(float* x, float* dy, float* dx, TW w, float* pw, float* pb, RowConstants k, nint n, nint head)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV> =>
            AlignedRows.Backward<TV, TW, TC, TG>(x, dy, dx, w, pw, pb, k, n, head);

        /// <summary>
        /// dx over columns [j0, j1) of one row, and the parameter-gradient partials Σ dy·x̂ and Σ dy of the chunk;
        /// the row's constants held in registers.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Row<TV, TW>(float* x, float* dy, float* dx, TW w, float* pw, float* pb, in RowConstants k, nint j0, nint j1)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
        {
            TV hi = TV.Create(k.Hi), lo = TV.Create(k.Lo), r = TV.Create(k.R), mg = TV.Create(k.MeanG), mgx = TV.Create(k.MeanGXhat);
            for (nint j = j0; j < j1; j += TV.Count)
            {
                var dyv = TV.Load(dy + j);
                TV.Store(NormalizeStep.Backward(TV.Load(x + j), dyv, w.Load(j), hi, lo, r, mg, mgx, out var xhat), dx + j);
                if (TG.Value)
                {
                    TV.Store(TV.Fma(dyv, xhat, TV.Load(pw + j)), pw + j);
                    if (TC.Value) TV.Store(TV.Load(pb + j) + dyv, pb + j);
                }
            }
        }

        /// <summary>The last, partial vector of a row: its part copied into padded scratch and run through <see cref="Row"/>.</summary>
        [SkipLocalsInit]
        private static void PaddedRow<TV, TW>(float* x, float* dy, float* dx, TW w, float* pw, float* pb, in RowConstants k, nint n, nint j0)
            where TV : unmanaged, IFloatVector<TV> where TW : struct, IOperand<TW, TV>
        {
            int width = TV.Count, count = (int)(n - j0);
            float* s = stackalloc float[6 * 16];
            float* xs = Padding.Copy(x, j0, count, s, width, 0f), gs = Padding.Copy(dy, j0, count, s + 16, width, 0f);
            var ws = w.Padded(j0, count, s + 32, width, 0f);
            float* pws = TG.Value ? Padding.Copy(pw, j0, count, s + 48, width, 0f) : null;
            float* pbs = TG.Value && TC.Value ? Padding.Copy(pb, j0, count, s + 64, width, 0f) : null;
            float* ds = s + 80 - j0;
            Row<TV, TW>(xs, gs, ds, ws, pws, pbs, k, j0, j0 + width);
            for (int j = 0; j < count; j++) dx[j0 + j] = ds[j0 + j];
            for (int j = 0; j < count && TG.Value; j++)
            {
                pw[j0 + j] = pws[j0 + j];
                if (TC.Value) pb[j0 + j] = pbs[j0 + j];
            }
        }
    }
}
