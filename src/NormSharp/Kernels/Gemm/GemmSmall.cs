using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NormSharp.Threading;

namespace NormSharp.Kernels;

/// <summary>
/// GEMM with few rows on one side (a small batch through a Linear layer). Such a product does only 2·rows flops
/// per element of the big operand, so packing that operand would cost as much as using it: it is streamed once
/// instead, a few columns at a time, and the short rows are applied to each piece in groups of four while the piece
/// is still in L1. Nothing is packed except, when they are strided, the short rows.
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
    /// Least k for the dot-product form beyond <see cref="AlwaysRows"/> rows: it reduces each 4×4 block
    /// horizontally, which short rows do not amortize (16×128×128 runs faster packed).
    /// </summary>
    public const int MinDotK = 256;

    /// <summary>Whether the streaming path should take C[m,n] = op(A)·op(B), and in which orientation.</summary>
    public static bool Takes(bool transA, bool transB, int m, int n, int k, out bool mirrored)
    {
        mirrored = false;
        if (!IsSupported) return false;
        if (m <= AlwaysRows || (m <= MaxRows && (!transB || k >= MinDotK))) return true;
        // Few columns with A's rows contiguous: Cᵀ = op(B)ᵀ·Aᵀ in the dot-product form.
        mirrored = !transA && (n <= AlwaysRows || (n <= MaxRows && k >= MinDotK));
        return mirrored;
    }

    /// <summary>Elements of the streamed operand per chunk below which a second thread is not worth waking.</summary>
    private const int MinStreamPerChunk = 32 * 1024;

    /// <summary>Columns of C per axpy strip: four vectors per row, sixteen accumulators for four rows.</summary>
    private const int AxpyStrip = 32;

    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported && Avx.IsSupported;

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
        ParallelFor.Run(groups, grain, ref body);
    }

    /// <summary>
    /// C = alpha·A·B + beta·C for a few rows of C, with B row-major k×n (row stride ldb) and
    /// A(i, p) at a[i·ars + p·acs], so either orientation of A is read in place.
    /// </summary>
    public static void AxpyRows(int rows, int n, int k, float alpha, float* a, nint ars, nint acs, float* b, nint ldb,
        float beta, float* c, nint ldc)
    {
        var body = new AxpyBody { Rows = rows, N = n, K = k, Alpha = alpha, Beta = beta, A = a, Ars = ars, Acs = acs, B = b, Ldb = ldb, C = c, Ldc = ldc };
        int strips = (n + AxpyStrip - 1) / AxpyStrip;
        int grain = Math.Max(1, MinStreamPerChunk / Math.Max(1, AxpyStrip * k));
        ParallelFor.Run(strips, grain, ref body);
    }

    private struct DotBody : IParallelBody
    {
        public int Rows, N, K;
        public float Alpha, Beta;
        public float* X, Y, O;
        public nint Xs, Ys, Ors, Ocs;

        public readonly void Execute(int chunk, int start, int end)
        {
            int j0 = start * 4, j1 = Math.Min(N, end * 4);
            int j = j0;
            for (; j + 4 <= j1; j += 4)
            {
                // Each group of four rows passes over the same four rows of Y, which stay in L1 after the first.
                for (int r = 0; r < Rows; r += 4)
                {
                    switch (Rows - r)
                    {
                        case 1: Block<R1>(r, j); break;
                        case 2: Block<R2>(r, j); break;
                        case 3: Block<R3>(r, j); break;
                        default: Block<R4>(r, j); break;
                    }
                }
            }
            for (; j < j1; j++)
            {
                for (int r = 0; r < Rows; r += 4)
                {
                    switch (Rows - r)
                    {
                        case 1: Column<R1>(r, j); break;
                        case 2: Column<R2>(r, j); break;
                        case 3: Column<R3>(r, j); break;
                        default: Column<R4>(r, j); break;
                    }
                }
            }
        }

        /// <summary>Rows r..r+TR of X against rows j..j+3 of Y.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Block<TR>(int r, int j) where TR : struct, IRowCount
        {
            int rows = TR.Value, kv = K & ~7;
            float* x0 = X + r * Xs;
            float* x1 = rows > 1 ? x0 + Xs : x0, x2 = rows > 2 ? x0 + 2 * Xs : x0, x3 = rows > 3 ? x0 + 3 * Xs : x0;
            float* y0 = Y + j * Ys, y1 = y0 + Ys, y2 = y1 + Ys, y3 = y2 + Ys;
            Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
            Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default;
            Vector256<float> s30 = default, s31 = default, s32 = default, s33 = default;
            for (int p = 0; p < kv; p += 8)
            {
                Vector256<float> v0 = Vector256.Load(y0 + p), v1 = Vector256.Load(y1 + p);
                Vector256<float> v2 = Vector256.Load(y2 + p), v3 = Vector256.Load(y3 + p);
                Vector256<float> u = Vector256.Load(x0 + p);
                s00 = Fma.MultiplyAdd(u, v0, s00); s01 = Fma.MultiplyAdd(u, v1, s01);
                s02 = Fma.MultiplyAdd(u, v2, s02); s03 = Fma.MultiplyAdd(u, v3, s03);
                if (rows > 1)
                {
                    u = Vector256.Load(x1 + p);
                    s10 = Fma.MultiplyAdd(u, v0, s10); s11 = Fma.MultiplyAdd(u, v1, s11);
                    s12 = Fma.MultiplyAdd(u, v2, s12); s13 = Fma.MultiplyAdd(u, v3, s13);
                }
                if (rows > 2)
                {
                    u = Vector256.Load(x2 + p);
                    s20 = Fma.MultiplyAdd(u, v0, s20); s21 = Fma.MultiplyAdd(u, v1, s21);
                    s22 = Fma.MultiplyAdd(u, v2, s22); s23 = Fma.MultiplyAdd(u, v3, s23);
                }
                if (rows > 3)
                {
                    u = Vector256.Load(x3 + p);
                    s30 = Fma.MultiplyAdd(u, v0, s30); s31 = Fma.MultiplyAdd(u, v1, s31);
                    s32 = Fma.MultiplyAdd(u, v2, s32); s33 = Fma.MultiplyAdd(u, v3, s33);
                }
            }
            // Everything below is inlined: a call here would make the register allocator spill the accumulators
            // inside the loop above, since vector registers do not survive calls.
            Finish4(x0, kv, y0, r, j, Sum4(s00, s01, s02, s03));
            if (rows > 1) Finish4(x1, kv, y0, r + 1, j, Sum4(s10, s11, s12, s13));
            if (rows > 2) Finish4(x2, kv, y0, r + 2, j, Sum4(s20, s21, s22, s23));
            if (rows > 3) Finish4(x3, kv, y0, r + 3, j, Sum4(s30, s31, s32, s33));
        }

        /// <summary>Rows r..r+TR of X against row j of Y, in the same lane-wise order as <see cref="Block{TR}"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Column<TR>(int r, int j) where TR : struct, IRowCount
        {
            int rows = TR.Value, kv = K & ~7;
            float* x0 = X + r * Xs;
            float* x1 = rows > 1 ? x0 + Xs : x0, x2 = rows > 2 ? x0 + 2 * Xs : x0, x3 = rows > 3 ? x0 + 3 * Xs : x0;
            float* y0 = Y + j * Ys;
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int p = 0; p < kv; p += 8)
            {
                Vector256<float> v = Vector256.Load(y0 + p);
                s0 = Fma.MultiplyAdd(Vector256.Load(x0 + p), v, s0);
                if (rows > 1) s1 = Fma.MultiplyAdd(Vector256.Load(x1 + p), v, s1);
                if (rows > 2) s2 = Fma.MultiplyAdd(Vector256.Load(x2 + p), v, s2);
                if (rows > 3) s3 = Fma.MultiplyAdd(Vector256.Load(x3 + p), v, s3);
            }
            Vector128<float> sums = Sum4(s0, s1, s2, s3);
            for (int q = 0; q < rows; q++)
            {
                float* xq = x0 + q * Xs;
                float s = sums.GetElement(q);
                for (int p = kv; p < K; p++) s = MathF.FusedMultiplyAdd(xq[p], y0[p], s);
                Store(O + (r + q) * Ors + j * Ocs, s);
            }
        }

        /// <summary>Adds the k tail to the sums of row <paramref name="r"/> against columns j..j+3 and stores them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Finish4(float* xr, int kv, float* y0, int r, int j, Vector128<float> sums)
        {
            float* o = O + r * Ors + j * Ocs;
            for (int q = 0; q < 4; q++)
            {
                float s = sums.GetElement(q);
                float* yq = y0 + q * Ys;
                for (int p = kv; p < K; p++) s = MathF.FusedMultiplyAdd(xr[p], yq[p], s);
                Store(o + q * Ocs, s);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Store(float* o, float s) =>
            *o = Beta == 0f ? Alpha * s : MathF.FusedMultiplyAdd(Beta, *o, Alpha * s);
    }

    /// <summary>The four horizontal sums of four vectors, in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        Vector256<float> h = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d));
        return h.GetLower() + h.GetUpper();
    }

    private struct AxpyBody : IParallelBody
    {
        public int Rows, N, K;
        public float Alpha, Beta;
        public float* A, B, C;
        public nint Ars, Acs, Ldb, Ldc;

        public readonly void Execute(int chunk, int start, int end)
        {
            int j0 = start * AxpyStrip, j1 = Math.Min(N, end * AxpyStrip);
            int j = j0;
            for (; j + AxpyStrip <= j1; j += AxpyStrip)
            {
                // Row groups take turns on the same strip of B, which stays in L2 between them.
                for (int r = 0; r < Rows; r += 4)
                {
                    switch (Rows - r)
                    {
                        case 1: Strip<R1>(r, j); break;
                        case 2: Strip<R2>(r, j); break;
                        case 3: Strip<R3>(r, j); break;
                        default: Strip<R4>(r, j); break;
                    }
                }
            }
            for (; j + 8 <= j1; j += 8)
            {
                for (int r = 0; r < Rows; r += 4)
                {
                    switch (Rows - r)
                    {
                        case 1: Narrow<R1>(r, j); break;
                        case 2: Narrow<R2>(r, j); break;
                        case 3: Narrow<R3>(r, j); break;
                        default: Narrow<R4>(r, j); break;
                    }
                }
            }
            for (; j < j1; j++)
            {
                for (int r = 0; r < Rows; r++)
                {
                    float* ar = A + r * Ars;
                    float* bp = B + j;
                    float s = 0f;
                    for (int p = 0; p < K; p++, bp += Ldb) s = MathF.FusedMultiplyAdd(ar[p * Acs], *bp, s);
                    float* c = C + r * Ldc + j;
                    *c = Beta == 0f ? Alpha * s : MathF.FusedMultiplyAdd(Beta, *c, Alpha * s);
                }
            }
        }

        /// <summary>Rows r..r+TR of C, columns j..j+31.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Strip<TR>(int r, int j) where TR : struct, IRowCount
        {
            int rows = TR.Value;
            float* a0 = A + r * Ars;
            float* a1 = rows > 1 ? a0 + Ars : a0, a2 = rows > 2 ? a0 + 2 * Ars : a0, a3 = rows > 3 ? a0 + 3 * Ars : a0;
            nint acs = Acs, ldb = Ldb;
            Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
            Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default;
            Vector256<float> s30 = default, s31 = default, s32 = default, s33 = default;
            float* bp = B + j;
            nint ap = 0;
            for (int p = 0; p < K; p++, bp += ldb, ap += acs)
            {
                Vector256<float> v0 = Vector256.Load(bp), v1 = Vector256.Load(bp + 8);
                Vector256<float> v2 = Vector256.Load(bp + 16), v3 = Vector256.Load(bp + 24);
                Vector256<float> u = Vector256.Create(a0[ap]);
                s00 = Fma.MultiplyAdd(u, v0, s00); s01 = Fma.MultiplyAdd(u, v1, s01);
                s02 = Fma.MultiplyAdd(u, v2, s02); s03 = Fma.MultiplyAdd(u, v3, s03);
                if (rows > 1)
                {
                    u = Vector256.Create(a1[ap]);
                    s10 = Fma.MultiplyAdd(u, v0, s10); s11 = Fma.MultiplyAdd(u, v1, s11);
                    s12 = Fma.MultiplyAdd(u, v2, s12); s13 = Fma.MultiplyAdd(u, v3, s13);
                }
                if (rows > 2)
                {
                    u = Vector256.Create(a2[ap]);
                    s20 = Fma.MultiplyAdd(u, v0, s20); s21 = Fma.MultiplyAdd(u, v1, s21);
                    s22 = Fma.MultiplyAdd(u, v2, s22); s23 = Fma.MultiplyAdd(u, v3, s23);
                }
                if (rows > 3)
                {
                    u = Vector256.Create(a3[ap]);
                    s30 = Fma.MultiplyAdd(u, v0, s30); s31 = Fma.MultiplyAdd(u, v1, s31);
                    s32 = Fma.MultiplyAdd(u, v2, s32); s33 = Fma.MultiplyAdd(u, v3, s33);
                }
            }
            float* c = C + r * Ldc + j;
            Store4(c, s00, s01, s02, s03);
            if (rows > 1) Store4(c + Ldc, s10, s11, s12, s13);
            if (rows > 2) Store4(c + 2 * Ldc, s20, s21, s22, s23);
            if (rows > 3) Store4(c + 3 * Ldc, s30, s31, s32, s33);
        }

        /// <summary>Rows r..r+TR of C, columns j..j+7, with the same per-lane order as <see cref="Strip{TR}"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Narrow<TR>(int r, int j) where TR : struct, IRowCount
        {
            int rows = TR.Value;
            float* a0 = A + r * Ars;
            float* a1 = rows > 1 ? a0 + Ars : a0, a2 = rows > 2 ? a0 + 2 * Ars : a0, a3 = rows > 3 ? a0 + 3 * Ars : a0;
            nint acs = Acs, ldb = Ldb;
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            float* bp = B + j;
            nint ap = 0;
            for (int p = 0; p < K; p++, bp += ldb, ap += acs)
            {
                Vector256<float> v = Vector256.Load(bp);
                s0 = Fma.MultiplyAdd(Vector256.Create(a0[ap]), v, s0);
                if (rows > 1) s1 = Fma.MultiplyAdd(Vector256.Create(a1[ap]), v, s1);
                if (rows > 2) s2 = Fma.MultiplyAdd(Vector256.Create(a2[ap]), v, s2);
                if (rows > 3) s3 = Fma.MultiplyAdd(Vector256.Create(a3[ap]), v, s3);
            }
            float* c = C + r * Ldc + j;
            Store1(c, s0);
            if (rows > 1) Store1(c + Ldc, s1);
            if (rows > 2) Store1(c + 2 * Ldc, s2);
            if (rows > 3) Store1(c + 3 * Ldc, s3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Store4(float* c, Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3)
        {
            Store1(c, s0);
            Store1(c + 8, s1);
            Store1(c + 16, s2);
            Store1(c + 24, s3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Store1(float* c, Vector256<float> s)
        {
            Vector256<float> r = s * Vector256.Create(Alpha);
            if (Beta != 0f) r = Fma.MultiplyAdd(Vector256.Create(Beta), Vector256.Load(c), r);
            r.Store(c);
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
