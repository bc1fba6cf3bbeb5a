using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NormSharp.Errors;
using NormSharp.Threading;

namespace NormSharp.Kernels;

/// <summary>
/// Single-precision matrix multiply C = α·op(A)·op(B) + β·C on row-major matrices, in the
/// GotoBLAS/BLIS structure: B is packed into KC×16 panels, A into MC×KC blocks of 6-row panels, and a
/// 6×16 register-blocked FMA micro-kernel runs over them. Columns of C are split over the cores, so
/// every element is summed in the same order whatever the thread count's timing. Few-row products
/// (a Linear layer at batch 4) skip packing and stream B once.
/// </summary>
public static unsafe class Gemm
{
    private const int MR = 6;
    private const int NR = 16;
    private const int KC = 256;
    private const int MC = 72;
    private const int SmallM = 8;

    /// <summary>C = α·op(A)·op(B) + β·C for dense operands (leading dimensions equal to the row lengths).</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c) =>
        Multiply(transA, transB, m, n, k, alpha, a, transA ? m : k, b, transB ? k : n, beta, c, n);

    /// <summary>
    /// C[m, n] = α·op(A)·op(B) + β·C. op(A) is A (m×k, row stride <paramref name="lda"/>) or, when
    /// <paramref name="transA"/>, the transpose of A stored k×m; likewise B (k×n, or n×k when transposed).
    /// With β = 0 the old contents of C are ignored, even NaN.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ShapeMismatchException($"Gemm: sizes must not be negative, got m={m}, n={n}, k={k}.");
        CheckOperand("A", a.Length, transA ? k : m, transA ? m : k, lda);
        CheckOperand("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckOperand("C", c.Length, m, n, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f)
        {
            ScaleC(c, m, n, ldc, beta);
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
        {
            var job = new Job
            {
                A = pa, B = pb, C = pc, M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc,
                Alpha = alpha, Beta = beta, TransA = transA, TransB = transB,
            };
            if (m <= SmallM && !transA)
            {
                var body = new SmallMBody { Job = job };
                // Columns per chunk: enough that each chunk streams ≥ 128 KB of B.
                int grain = Math.Max(NR, 32 * 1024 / Math.Max(1, k));
                ParallelFor.Run(n, grain, ref body);
            }
            else
            {
                var body = new PackedBody { Job = job };
                int panels = (n + NR - 1) / NR;
                // Panels per chunk: enough work (≥ ~2 MFLOP) to pay for a fork.
                long flopsPerPanel = 2L * m * k * NR;
                int grain = (int)Math.Clamp(2_000_000 / Math.Max(1, flopsPerPanel), 1, panels);
                ParallelFor.Run(panels, grain, ref body);
            }
        }
    }

    private static void CheckOperand(string name, int length, int rows, int cols, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ShapeMismatchException($"Gemm: leading dimension of {name} is {ld} but its rows hold {cols} elements.");
        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ShapeMismatchException($"Gemm: {name} is {rows}×{cols} with leading dimension {ld}, which needs {needed} elements, but only {length} were given.");
    }

    private static void ScaleC(Span<float> c, int m, int n, int ldc, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) ElementwiseKernels.Scale(row, beta, row);
        }
    }

    private struct Job
    {
        public float* A, B, C;
        public int M, N, K, Lda, Ldb, Ldc;
        public float Alpha, Beta;
        public bool TransA, TransB;
    }

    /// <summary>m ≤ 8 rows: each chunk owns a range of C's columns and streams the matching part of B once.</summary>
    private struct SmallMBody : IParallelBody
    {
        public Job Job;

        public void Execute(int chunk, int start, int end)
        {
            ref Job j = ref Job;
            for (int i = 0; i < j.M; i++)
            {
                float* crow = j.C + (long)i * j.Ldc;
                if (j.Beta == 0f) new Span<float>(crow + start, end - start).Clear();
                else if (j.Beta != 1f) for (int col = start; col < end; col++) crow[col] *= j.Beta;
            }
            if (j.TransB) SmallMTransB(ref j, start, end);
            else SmallMPlainB(ref j, start, end);
        }

        /// <summary>C[i, col] += α·Σ A[i, :]·B[col, :]: dot products along contiguous rows of both.</summary>
        private static void SmallMTransB(ref Job j, int start, int end)
        {
            int k = j.K;
            for (int col = start; col < end; col++)
            {
                float* brow = j.B + (long)col * j.Ldb;
                for (int i = 0; i < j.M; i++)
                {
                    float* arow = j.A + (long)i * j.Lda;
                    var acc0 = Vector256<float>.Zero;
                    var acc1 = Vector256<float>.Zero;
                    int p = 0;
                    for (; p <= k - 16; p += 16)
                    {
                        acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(arow + p), Vector256.Load(brow + p), acc0);
                        acc1 = Vector256.FusedMultiplyAdd(Vector256.Load(arow + p + 8), Vector256.Load(brow + p + 8), acc1);
                    }
                    for (; p <= k - 8; p += 8)
                        acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(arow + p), Vector256.Load(brow + p), acc0);
                    float s = Vector256.Sum(acc0 + acc1);
                    for (; p < k; p++) s += arow[p] * brow[p];
                    j.C[(long)i * j.Ldc + col] += j.Alpha * s;
                }
            }
        }

        /// <summary>C[i, cols] += α·Σ_p A[i, p]·B[p, cols]: rows of B streamed once, all of C's rows updated.</summary>
        private static void SmallMPlainB(ref Job j, int start, int end)
        {
            int width = end - start;
            for (int p = 0; p < j.K; p++)
            {
                float* brow = j.B + (long)p * j.Ldb + start;
                for (int i = 0; i < j.M; i++)
                {
                    float av = j.Alpha * j.A[(long)i * j.Lda + p];
                    if (av == 0f) continue;
                    float* crow = j.C + (long)i * j.Ldc + start;
                    var va = Vector256.Create(av);
                    int q = 0;
                    for (; q <= width - 8; q += 8)
                        Vector256.FusedMultiplyAdd(va, Vector256.Load(brow + q), Vector256.Load(crow + q)).Store(crow + q);
                    for (; q < width; q++) crow[q] += av * brow[q];
                }
            }
        }
    }

    /// <summary>Per-thread packing buffers, grown once.</summary>
    private static class Scratch
    {
        [ThreadStatic] private static float[]? _a;
        [ThreadStatic] private static float[]? _b;

        public static float[] A(int length) => _a is { } x && x.Length >= length ? x : _a = GC.AllocateUninitializedArray<float>(length, pinned: true);

        public static float[] B(int length) => _b is { } x && x.Length >= length ? x : _b = GC.AllocateUninitializedArray<float>(length, pinned: true);
    }

    /// <summary>The packed path: a chunk owns a range of 16-column panels of C.</summary>
    private struct PackedBody : IParallelBody
    {
        public Job Job;

        public void Execute(int chunk, int startPanel, int endPanel)
        {
            ref Job j = ref Job;
            int j0 = startPanel * NR;
            int j1 = Math.Min(j.N, endPanel * NR);
            int panels = endPanel - startPanel;
            float[] bBuf = Scratch.B(KC * panels * NR);
            float[] aBuf = Scratch.A(KC * (MC + MR));
            fixed (float* pb = bBuf, pa = aBuf)
            {
                if (j.Beta != 0f && j.Beta != 1f)
                    for (int i = 0; i < j.M; i++)
                        for (int col = j0; col < j1; col++) j.C[(long)i * j.Ldc + col] *= j.Beta;
                for (int p0 = 0; p0 < j.K; p0 += KC)
                {
                    int kc = Math.Min(KC, j.K - p0);
                    bool overwrite = p0 == 0 && j.Beta == 0f;
                    PackB(ref j, pb, p0, kc, j0, j1);
                    for (int i0 = 0; i0 < j.M; i0 += MC)
                    {
                        int mc = Math.Min(MC, j.M - i0);
                        PackA(ref j, pa, i0, mc, p0, kc);
                        for (int jp = 0; jp < panels; jp++)
                        {
                            int col = j0 + jp * NR;
                            if (col >= j1) break;
                            int nr = Math.Min(NR, j1 - col);
                            float* bPanel = pb + (long)jp * kc * NR;
                            for (int ir = 0; ir < mc; ir += MR)
                            {
                                int mr = Math.Min(MR, mc - ir);
                                float* aPanel = pa + (long)ir * kc;
                                float* cTile = j.C + (long)(i0 + ir) * j.Ldc + col;
                                MicroKernel(aPanel, bPanel, kc, cTile, j.Ldc, j.Alpha, mr, nr, overwrite);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>Packs op(B)[p0..p0+kc, j0..j1] into 16-wide panels [panel][k][16], zero-padded.</summary>
        private static void PackB(ref Job j, float* dst, int p0, int kc, int j0, int j1)
        {
            for (int col = j0; col < j1; col += NR)
            {
                int nr = Math.Min(NR, j1 - col);
                float* panel = dst + (long)((col - j0) / NR) * kc * NR;
                if (!j.TransB)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* src = j.B + (long)(p0 + p) * j.Ldb + col;
                        float* d = panel + p * NR;
                        if (nr == NR)
                        {
                            Vector256.Store(Vector256.Load(src), d);
                            Vector256.Store(Vector256.Load(src + 8), d + 8);
                        }
                        else
                        {
                            for (int q = 0; q < nr; q++) d[q] = src[q];
                            for (int q = nr; q < NR; q++) d[q] = 0f;
                        }
                    }
                }
                else
                {
                    for (int q = 0; q < NR; q++)
                    {
                        if (q >= nr)
                        {
                            for (int p = 0; p < kc; p++) panel[p * NR + q] = 0f;
                            continue;
                        }
                        float* src = j.B + (long)(col + q) * j.Ldb + p0;
                        for (int p = 0; p < kc; p++) panel[p * NR + q] = src[p];
                    }
                }
            }
        }

        /// <summary>Packs op(A)[i0..i0+mc, p0..p0+kc] into 6-row panels [panel][k][6], zero-padded.</summary>
        private static void PackA(ref Job j, float* dst, int i0, int mc, int p0, int kc)
        {
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* panel = dst + (long)ir * kc;
                if (!j.TransA)
                {
                    for (int r = 0; r < MR; r++)
                    {
                        if (r >= mr)
                        {
                            for (int p = 0; p < kc; p++) panel[p * MR + r] = 0f;
                            continue;
                        }
                        float* src = j.A + (long)(i0 + ir + r) * j.Lda + p0;
                        for (int p = 0; p < kc; p++) panel[p * MR + r] = src[p];
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* src = j.A + (long)(p0 + p) * j.Lda + i0 + ir;
                        float* d = panel + p * MR;
                        for (int r = 0; r < mr; r++) d[r] = src[r];
                        for (int r = mr; r < MR; r++) d[r] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>C tile (mr×nr ≤ 6×16) += α·Σ_p a[p]ᵀ·b[p] (or = when <paramref name="overwrite"/>), 12 accumulators in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel(float* a, float* b, int kc, float* c, int ldc, float alpha, int mr, int nr, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            a += MR;
            b += NR;
        }
        var va = Vector256.Create(alpha);
        if (mr == MR && nr == NR)
        {
            StoreRow(c, c00, c01, va, overwrite);
            StoreRow(c + ldc, c10, c11, va, overwrite);
            StoreRow(c + 2 * ldc, c20, c21, va, overwrite);
            StoreRow(c + 3 * ldc, c30, c31, va, overwrite);
            StoreRow(c + 4 * ldc, c40, c41, va, overwrite);
            StoreRow(c + 5 * ldc, c50, c51, va, overwrite);
            return;
        }
        float* tile = stackalloc float[MR * NR];
        (c00 * va).Store(tile); (c01 * va).Store(tile + 8);
        (c10 * va).Store(tile + 16); (c11 * va).Store(tile + 24);
        (c20 * va).Store(tile + 32); (c21 * va).Store(tile + 40);
        (c30 * va).Store(tile + 48); (c31 * va).Store(tile + 56);
        (c40 * va).Store(tile + 64); (c41 * va).Store(tile + 72);
        (c50 * va).Store(tile + 80); (c51 * va).Store(tile + 88);
        for (int r = 0; r < mr; r++)
        {
            float* crow = c + (long)r * ldc;
            for (int q = 0; q < nr; q++) crow[q] = overwrite ? tile[r * NR + q] : crow[q] + tile[r * NR + q];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> lo, Vector256<float> hi, Vector256<float> alpha, bool overwrite)
    {
        if (overwrite)
        {
            (lo * alpha).Store(c);
            (hi * alpha).Store(c + 8);
        }
        else
        {
            Vector256.FusedMultiplyAdd(lo, alpha, Vector256.Load(c)).Store(c);
            Vector256.FusedMultiplyAdd(hi, alpha, Vector256.Load(c + 8)).Store(c + 8);
        }
    }
}
