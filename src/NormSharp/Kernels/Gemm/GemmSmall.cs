using System.Runtime.CompilerServices;
using NormSharp.Kernels.Normalization;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels;

/// <summary>
/// GEMM with few rows on one side (a small batch through a Linear layer). Such a product does only 2·rows flops
/// per element of the big operand, so packing that operand would cost as much as using it: it is streamed once
/// instead, a few columns at a time, and the short rows are applied to each piece in groups of four while the piece
/// is still in L1. Two forms, each with an order of additions fixed by the data and the same at every width:
/// <list type="bullet">
/// <item><see cref="AxpyRows"/> (B's rows contiguous): each element of C is one fused multiply-add chain over k in order.</item>
/// <item><see cref="DotRows"/> (both operands' rows contiguous along k): each element is a dot product in
/// <see cref="DotLanes"/> lanes (term p in lane p mod 16, the last partial group padded with zeros), the lanes
/// folded upper half onto lower half.</item>
/// </list>
/// The path is chosen from the shape alone, so every machine takes the same one.
/// </summary>
internal static unsafe class GemmSmall
{
    /// <summary>Up to this many rows the streaming path is taken whatever the other sizes.</summary>
    public const int AlwaysRows = 4;

    /// <summary>
    /// Most rows on the short side this path takes. With few rows, packing the big operand costs about as much as
    /// multiplying it: on Zen 4 at k = n = 1000 the streaming path runs at 95 against 60 GFLOP/s per core for
    /// 8 rows, 97 against 78 for 16, and the two meet between 32 and 64 rows.
    /// </summary>
    public const int MaxRows = 32;

    /// <summary>
    /// Least k for the dot-product form beyond <see cref="AlwaysRows"/> rows: it reduces each output's lanes
    /// horizontally, which short rows do not amortize (16×128×128 runs faster packed).
    /// </summary>
    public const int MinDotK = 256;

    /// <summary>Lanes of a dot product: every output's terms are spread over 16 lanes whatever the vector width.</summary>
    public const int DotLanes = 16;

    /// <summary>Elements of the streamed operand per chunk below which a second thread is not worth waking.</summary>
    private const int MinStreamPerChunk = 32 * 1024;

    /// <summary>Columns of C per parallel unit of the axpy form (four vectors of the widest width).</summary>
    private const int AxpyUnit = 64;

    /// <summary>Whether the streaming path should take C[m,n] = op(A)·op(B), and in which orientation (from the shape only).</summary>
    public static bool Takes(bool transA, bool transB, int m, int n, int k, out bool mirrored)
    {
        mirrored = false;
        if (m <= AlwaysRows || (m <= MaxRows && (!transB || k >= MinDotK))) return true;
        // Few columns with A's rows contiguous: Cᵀ = op(B)ᵀ·Aᵀ in the dot-product form.
        mirrored = !transA && (n <= AlwaysRows || (n <= MaxRows && k >= MinDotK));
        return mirrored;
    }

    /// <summary>
    /// O = alpha·X·Yᵀ + beta·O where X is rows×k and Y is n×k, both with contiguous rows (strides xs, ys),
    /// and O(r, j) lives at o[r·ors + j·ocs]. Used for C = A·Bᵀ (X = A) and, mirrored, for C with few columns (X = op(B)ᵀ).
    /// </summary>
    public static void DotRows(int rows, int n, int k, float alpha, float* x, nint xs, float* y, nint ys,
        float beta, float* o, nint ors, nint ocs)
    {
        var body = new DotBody { Rows = rows, N = n, K = k, Alpha = alpha, Beta = beta, X = x, Xs = xs, Y = y, Ys = ys, O = o, Ors = ors, Ocs = ocs };
        int groups = (n + 3) / 4;
        int grain = Math.Max(1, MinStreamPerChunk / Math.Max(1, 4 * k));
        WidthParallel.Run(groups, grain, ref body);
    }

    /// <summary>
    /// C = alpha·A·B + beta·C for a few rows of C, with B row-major k×n (row stride ldb) and
    /// A(i, p) at a[i·ars + p·acs], so either orientation of A is read in place.
    /// </summary>
    public static void AxpyRows(int rows, int n, int k, float alpha, float* a, nint ars, nint acs, float* b, nint ldb,
        float beta, float* c, nint ldc)
    {
        var body = new AxpyBody { Rows = rows, N = n, K = k, Alpha = alpha, Beta = beta, A = a, Ars = ars, Acs = acs, B = b, Ldb = ldb, C = c, Ldc = ldc };
        int units = (n + AxpyUnit - 1) / AxpyUnit;
        int grain = Math.Max(1, MinStreamPerChunk / Math.Max(1, AxpyUnit * k));
        WidthParallel.Run(units, grain, ref body);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Pick<TV>(TV v0, TV v1, TV v2, TV v3, int index) where TV : unmanaged, IFloatVector<TV> =>
        index == 0 ? v0 : index == 1 ? v1 : index == 2 ? v2 : v3;

    private struct DotBody : IParallelWidthBody
    {
        public int Rows, N, K;
        public float Alpha, Beta;
        public float* X, Y, O;
        public nint Xs, Ys, Ors, Ocs;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            // An output's 16 lanes take one accumulator at 512 bits, two at 256, four at 128. Blocks of 4 rows × 4
            // columns at 512 bits (16 of 32 registers), 4 × 1 at 256 and 2 × 1 at 128 (8 of 16), so the accumulators
            // stay in registers and every row group still shares each streamed column of Y among four rows.
            int columns = TV.Count == 16 ? 4 : 1, rowsPerBlock = TV.Count == 4 ? 2 : 4;
            int j1 = Math.Min(N, end * 4);
            // The padded copies of X's rows' last partial group of 16 terms, made once for all the blocks.
            int kv = K & ~(DotLanes - 1), tail = K - kv;
            float[] tails = Normalization.KernelScratch.Floats(tail > 0 ? Rows * DotLanes : 1);
            fixed (float* xt = tails)
            {
                for (int r = 0; r < Rows && tail > 0; r++) Padding.Copy(X + r * Xs, kv, tail, xt + r * DotLanes, DotLanes, 0f);
                for (int j = start * 4; j < j1; j += columns)
                {
                    int cols = Math.Min(columns, j1 - j);
                    // Each group of rows passes over the same columns of Y, which stay in L1 after the first.
                    for (int r = 0; r < Rows; r += rowsPerBlock)
                    {
                        switch (Math.Min(rowsPerBlock, Rows - r))
                        {
                            case 1: Block<TV, R1>(r, j, cols, xt); break;
                            case 2: Block<TV, R2>(r, j, cols, xt); break;
                            case 3: Block<TV, R3>(r, j, cols, xt); break;
                            default: Block<TV, R4>(r, j, cols, xt); break;
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Rows r..r+TR of X against columns j..j+cols of Y; columns past the valid ones repeat the last and are not
        /// stored. Accumulator (i, q) holds row i's output column q / L, lanes (q mod L)·W.. of it, where L = 16 / W is
        /// the number of vectors per output. The last partial group of 16 terms reads copies padded with zeros (X's
        /// made once by the caller, Y's here before the loop), taken by the loop's last pass.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        [SkipLocalsInit]
        private readonly void Block<TV, TR>(int r, int j, int cols, float* xTails) where TV : unmanaged, IFloatVector<TV> where TR : struct, IRowCount
        {
            int w = TV.Count, l = DotLanes / w, rows = TR.Value;
            bool four = l != 2; // four accumulators per row; two (one column of two vectors) at 256 bits
            float* x0 = X + r * Xs;
            float* x1 = x0 + Math.Min(1, rows - 1) * Xs, x2 = x0 + Math.Min(2, rows - 1) * Xs, x3 = x0 + Math.Min(3, rows - 1) * Xs;
            float* y0 = Y + j * Ys;
            float* y1 = y0 + Math.Min(1, cols - 1) * Ys, y2 = y0 + Math.Min(2, cols - 1) * Ys, y3 = y0 + Math.Min(3, cols - 1) * Ys;
            int kv = K & ~(DotLanes - 1), tail = K - kv;
            float* t = stackalloc float[4 * DotLanes];
            if (tail > 0)
            {
                Padding.Copy(y0, kv, tail, t, DotLanes, 0f);
                Padding.Copy(y1, kv, tail, t + 16, DotLanes, 0f);
                Padding.Copy(y2, kv, tail, t + 32, DotLanes, 0f);
                Padding.Copy(y3, kv, tail, t + 48, DotLanes, 0f);
            }
            // Slot q reads column q / l at offset (q % l)·w.
            float* b0 = Col(y0, y1, y2, y3, 0 / l) + 0 % l * w, b1 = Col(y0, y1, y2, y3, 1 / l) + 1 % l * w;
            float* b2 = Col(y0, y1, y2, y3, 2 / l) + 2 % l * w, b3 = Col(y0, y1, y2, y3, 3 / l) + 3 % l * w;
            TV s00 = TV.Zero, s01 = TV.Zero, s02 = TV.Zero, s03 = TV.Zero, s10 = TV.Zero, s11 = TV.Zero, s12 = TV.Zero, s13 = TV.Zero;
            TV s20 = TV.Zero, s21 = TV.Zero, s22 = TV.Zero, s23 = TV.Zero, s30 = TV.Zero, s31 = TV.Zero, s32 = TV.Zero, s33 = TV.Zero;
            int end = tail > 0 ? kv + DotLanes : kv;
            for (int p = 0; p < end; p += DotLanes)
            {
                if (p == kv)
                {
                    // The padded pass: every pointer re-based so that index p lands on its copy.
                    float* tx = xTails + r * DotLanes - p;
                    x0 = tx;
                    x1 = tx + Math.Min(1, rows - 1) * DotLanes;
                    x2 = tx + Math.Min(2, rows - 1) * DotLanes;
                    x3 = tx + Math.Min(3, rows - 1) * DotLanes;
                    float* ty = t - p;
                    b0 = ty + (0 / l) * DotLanes + 0 % l * w;
                    b1 = ty + (1 / l) * DotLanes + 1 % l * w;
                    b2 = ty + Math.Min(2 / l, cols - 1) * DotLanes + 2 % l * w;
                    b3 = ty + Math.Min(3 / l, cols - 1) * DotLanes + 3 % l * w;
                }
                TV v0 = TV.Load(b0 + p), v1 = TV.Load(b1 + p);
                TV v2 = four ? TV.Load(b2 + p) : v0, v3 = four ? TV.Load(b3 + p) : v1;
                TV a0 = TV.Load(x0 + p), a1 = l > 1 ? TV.Load(x0 + p + w) : a0, a2 = l > 2 ? TV.Load(x0 + p + 2 * w) : a0, a3 = l > 3 ? TV.Load(x0 + p + 3 * w) : a0;
                s00 = TV.Fma(Pick(a0, a1, a2, a3, 0 % l), v0, s00);
                s01 = TV.Fma(Pick(a0, a1, a2, a3, 1 % l), v1, s01);
                if (four)
                {
                    s02 = TV.Fma(Pick(a0, a1, a2, a3, 2 % l), v2, s02);
                    s03 = TV.Fma(Pick(a0, a1, a2, a3, 3 % l), v3, s03);
                }
                if (rows > 1)
                {
                    a0 = TV.Load(x1 + p); a1 = l > 1 ? TV.Load(x1 + p + w) : a0; a2 = l > 2 ? TV.Load(x1 + p + 2 * w) : a0; a3 = l > 3 ? TV.Load(x1 + p + 3 * w) : a0;
                    s10 = TV.Fma(Pick(a0, a1, a2, a3, 0 % l), v0, s10);
                    s11 = TV.Fma(Pick(a0, a1, a2, a3, 1 % l), v1, s11);
                    if (four)
                    {
                        s12 = TV.Fma(Pick(a0, a1, a2, a3, 2 % l), v2, s12);
                        s13 = TV.Fma(Pick(a0, a1, a2, a3, 3 % l), v3, s13);
                    }
                }
                if (rows > 2)
                {
                    a0 = TV.Load(x2 + p); a1 = l > 1 ? TV.Load(x2 + p + w) : a0; a2 = l > 2 ? TV.Load(x2 + p + 2 * w) : a0; a3 = l > 3 ? TV.Load(x2 + p + 3 * w) : a0;
                    s20 = TV.Fma(Pick(a0, a1, a2, a3, 0 % l), v0, s20);
                    s21 = TV.Fma(Pick(a0, a1, a2, a3, 1 % l), v1, s21);
                    if (four)
                    {
                        s22 = TV.Fma(Pick(a0, a1, a2, a3, 2 % l), v2, s22);
                        s23 = TV.Fma(Pick(a0, a1, a2, a3, 3 % l), v3, s23);
                    }
                }
                if (rows > 3)
                {
                    a0 = TV.Load(x3 + p); a1 = l > 1 ? TV.Load(x3 + p + w) : a0; a2 = l > 2 ? TV.Load(x3 + p + 2 * w) : a0; a3 = l > 3 ? TV.Load(x3 + p + 3 * w) : a0;
                    s30 = TV.Fma(Pick(a0, a1, a2, a3, 0 % l), v0, s30);
                    s31 = TV.Fma(Pick(a0, a1, a2, a3, 1 % l), v1, s31);
                    if (four)
                    {
                        s32 = TV.Fma(Pick(a0, a1, a2, a3, 2 % l), v2, s32);
                        s33 = TV.Fma(Pick(a0, a1, a2, a3, 3 % l), v3, s33);
                    }
                }
            }
            Store<TV>(r, j, cols, l, s00, s01, s02, s03);
            if (rows > 1) Store<TV>(r + 1, j, cols, l, s10, s11, s12, s13);
            if (rows > 2) Store<TV>(r + 2, j, cols, l, s20, s21, s22, s23);
            if (rows > 3) Store<TV>(r + 3, j, cols, l, s30, s31, s32, s33);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float* Col(float* y0, float* y1, float* y2, float* y3, int c) => c == 0 ? y0 : c == 1 ? y1 : c == 2 ? y2 : y3;

        /// <summary>Folds each output's 16 lanes (lane j + 8 onto j, and so on) and stores alpha·sum (+ beta·old).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Store<TV>(int r, int j, int cols, int l, TV q0, TV q1, TV q2, TV q3) where TV : unmanaged, IFloatVector<TV>
        {
            float* o = O + r * Ors + j * Ocs;
            if (l == 1)
            {
                Put(o, TV.Sum(q0));
                if (cols > 1) Put(o + Ocs, TV.Sum(q1));
                if (cols > 2) Put(o + 2 * Ocs, TV.Sum(q2));
                if (cols > 3) Put(o + 3 * Ocs, TV.Sum(q3));
            }
            else if (l == 2)
            {
                Put(o, TV.Sum(q0 + q1));
                if (cols > 1) Put(o + Ocs, TV.Sum(q2 + q3));
            }
            else
            {
                Put(o, TV.Sum((q0 + q2) + (q1 + q3)));
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Put(float* o, float s) => *o = Beta == 0f ? Alpha * s : ExactFma.Scalar(Beta, *o, Alpha * s);
    }

    private struct AxpyBody : IParallelWidthBody
    {
        public int Rows, N, K;
        public float Alpha, Beta;
        public float* A, B, C;
        public nint Ars, Acs, Ldb, Ldc;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            int w = TV.Count;
            int j = start * AxpyUnit, j1 = Math.Min(N, end * AxpyUnit);
            // Row groups take turns on the same strip of B, which stays in L2 between them.
            for (; j + 4 * w <= j1; j += 4 * w) Strips<TV, Yes>(B + j, Ldb, C + j, Ldc);
            for (; j + w <= j1; j += w) Strips<TV, No>(B + j, Ldb, C + j, Ldc);
            if (j < j1) PaddedColumns<TV>(j, j1 - j);
        }

        /// <summary>All rows of C over one strip (four vectors wide, or one).</summary>
        private readonly void Strips<TV, TWide>(float* b, nint ldb, float* c, nint ldc) where TV : unmanaged, IFloatVector<TV> where TWide : struct, IFlag
        {
            for (int r = 0; r < Rows; r += 4)
            {
                switch (Rows - r)
                {
                    case 1: Strip<TV, TWide, R1>(r, b, ldb, c, ldc); break;
                    case 2: Strip<TV, TWide, R2>(r, b, ldb, c, ldc); break;
                    case 3: Strip<TV, TWide, R3>(r, b, ldb, c, ldc); break;
                    default: Strip<TV, TWide, R4>(r, b, ldb, c, ldc); break;
                }
            }
        }

        /// <summary>
        /// The last columns (fewer than a vector): B's columns copied into a zero-padded k×W panel, C's into a
        /// padded block, the same strip code run on them, and the valid columns of C copied back.
        /// </summary>
        private readonly void PaddedColumns<TV>(int j, int count) where TV : unmanaged, IFloatVector<TV>
        {
            int w = TV.Count;
            float[] scratch = KernelScratch.Floats(K * w + Rows * w);
            fixed (float* s = scratch)
            {
                float* panel = s, cBlock = s + (nint)K * w;
                for (int p = 0; p < K; p++) Padding.Copy(B + p * Ldb, j, count, panel + (nint)p * w, w, 0f);
                for (int r = 0; r < Rows; r++) Padding.Copy(C + r * Ldc, j, count, cBlock + (nint)r * w, w, 0f);
                Strips<TV, No>(panel, w, cBlock, w);
                for (int r = 0; r < Rows; r++)
                    for (int q = 0; q < count; q++) C[r * Ldc + j + q] = cBlock[(nint)r * w + q];
            }
        }

        /// <summary>Rows r..r+TR of C over four vectors of columns (or one): one FMA chain over k per element.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Strip<TV, TWide, TR>(int r, float* b, nint ldb, float* c, nint ldc)
            where TV : unmanaged, IFloatVector<TV> where TWide : struct, IFlag where TR : struct, IRowCount
        {
            int w = TV.Count, rows = TR.Value;
            bool wide = TWide.Value;
            c += r * ldc;
            float* a0 = A + r * Ars;
            float* a1 = rows > 1 ? a0 + Ars : a0, a2 = rows > 2 ? a0 + 2 * Ars : a0, a3 = rows > 3 ? a0 + 3 * Ars : a0;
            nint acs = Acs;
            TV s00 = TV.Zero, s01 = TV.Zero, s02 = TV.Zero, s03 = TV.Zero, s10 = TV.Zero, s11 = TV.Zero, s12 = TV.Zero, s13 = TV.Zero;
            TV s20 = TV.Zero, s21 = TV.Zero, s22 = TV.Zero, s23 = TV.Zero, s30 = TV.Zero, s31 = TV.Zero, s32 = TV.Zero, s33 = TV.Zero;
            float* bp = b;
            nint ap = 0;
            for (int p = 0; p < K; p++, bp += ldb, ap += acs)
            {
                TV v0 = TV.Load(bp);
                TV v1 = wide ? TV.Load(bp + w) : v0, v2 = wide ? TV.Load(bp + 2 * w) : v0, v3 = wide ? TV.Load(bp + 3 * w) : v0;
                TV u = TV.Create(a0[ap]);
                s00 = TV.Fma(u, v0, s00);
                if (wide) { s01 = TV.Fma(u, v1, s01); s02 = TV.Fma(u, v2, s02); s03 = TV.Fma(u, v3, s03); }
                if (rows > 1)
                {
                    u = TV.Create(a1[ap]);
                    s10 = TV.Fma(u, v0, s10);
                    if (wide) { s11 = TV.Fma(u, v1, s11); s12 = TV.Fma(u, v2, s12); s13 = TV.Fma(u, v3, s13); }
                }
                if (rows > 2)
                {
                    u = TV.Create(a2[ap]);
                    s20 = TV.Fma(u, v0, s20);
                    if (wide) { s21 = TV.Fma(u, v1, s21); s22 = TV.Fma(u, v2, s22); s23 = TV.Fma(u, v3, s23); }
                }
                if (rows > 3)
                {
                    u = TV.Create(a3[ap]);
                    s30 = TV.Fma(u, v0, s30);
                    if (wide) { s31 = TV.Fma(u, v1, s31); s32 = TV.Fma(u, v2, s32); s33 = TV.Fma(u, v3, s33); }
                }
            }
            StoreRow(c, wide, s00, s01, s02, s03);
            if (rows > 1) StoreRow(c + ldc, wide, s10, s11, s12, s13);
            if (rows > 2) StoreRow(c + 2 * ldc, wide, s20, s21, s22, s23);
            if (rows > 3) StoreRow(c + 3 * ldc, wide, s30, s31, s32, s33);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void StoreRow<TV>(float* c, bool wide, TV s0, TV s1, TV s2, TV s3) where TV : unmanaged, IFloatVector<TV>
        {
            int w = TV.Count;
            Store(c, s0);
            if (wide)
            {
                Store(c + w, s1);
                Store(c + 2 * w, s2);
                Store(c + 3 * w, s3);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Store<TV>(float* c, TV s) where TV : unmanaged, IFloatVector<TV>
        {
            TV r = s * TV.Create(Alpha);
            if (Beta != 0f) r = TV.Fma(TV.Create(Beta), TV.Load(c), r);
            TV.Store(r, c);
        }
    }

    private interface IRowCount
    {
        static abstract int Value { get; }
    }

    private readonly struct R1 : IRowCount { public static int Value => 1; }
    private readonly struct R2 : IRowCount { public static int Value => 2; }
    private readonly struct R3 : IRowCount { public static int Value => 3; }
    private readonly struct R4 : IRowCount { public static int Value => 4; }
}
