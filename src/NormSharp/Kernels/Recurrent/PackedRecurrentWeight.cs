using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// A recurrent weight packed once for the many small products of a sequence: every time step multiplies a few rows of
/// state by the same W_hh (forward: h·W_hhᵀ, backward: dgates·W_hh), so the B panel that a general GEMM would pack
/// at every call is packed once per sequence, in the sliver layout of <see cref="PackedTile{TV}"/>, and stays in L2.
/// The k dimension is cut into blocks exactly as <see cref="GemmBlocked"/> cuts it, and every element of a product is
/// one fused multiply-add chain over k in order, restarted at each k block; whichever kernel computes an element
/// (the register tile for full row groups, <see cref="FewRows"/> for the rest), it gets the same bits, at every width.
/// </summary>
internal readonly unsafe struct PackedRecurrentWeight
{
    /// <summary>The packed slivers: k block after k block, each holding every NR-wide sliver of kc×NR floats.</summary>
    public readonly float* Data;

    /// <summary>Rows of op(W) (the k of the product) and its columns (n).</summary>
    public readonly int K, N;

    /// <summary>k steps per block (all blocks but the last) and the number of blocks.</summary>
    public readonly int KcBlock, KBlocks;

    /// <summary>Column slivers of NR floats (the last zero-padded).</summary>
    public readonly int Slivers;

    private PackedRecurrentWeight(float* data, int k, int n, int kcBlock, int kBlocks, int slivers)
    {
        Data = data;
        (K, N, KcBlock, KBlocks, Slivers) = (k, n, kcBlock, kBlocks, slivers);
    }

    /// <summary>Floats that <see cref="Pack{TV}"/> writes for op(W) of k×n.</summary>
    public static long Floats<TV>(int k, int n) where TV : unmanaged, IFloatVector<TV>
    {
        int nr = PackedTile<TV>.NR;
        return (long)k * ((n + nr - 1) / nr) * nr;
    }

    /// <summary>
    /// Packs op(W) into <paramref name="dst"/> (<see cref="Floats{TV}"/> floats): with <paramref name="transposed"/>,
    /// op(W) = Wᵀ for W stored n×k (the forward's h·W_hhᵀ); otherwise W itself, stored k×n (the backward's dgates·W_hh).
    /// <paramref name="ld"/> is W's row stride.
    /// </summary>
    public static PackedRecurrentWeight Pack<TV>(bool transposed, float* w, int ld, int k, int n, float* dst) where TV : unmanaged, IFloatVector<TV>
    {
        int nr = PackedTile<TV>.NR;
        // The k blocks of GemmBlocked: even blocks of at most KcMax, rounded up to a multiple of 8.
        int kBlocks = (k + GemmBlocked.KcMax - 1) / GemmBlocked.KcMax;
        int kcBlock = Math.Min(GemmBlocked.KcMax, ((k + kBlocks - 1) / kBlocks + 7) & ~7);
        kBlocks = (k + kcBlock - 1) / kcBlock;
        int slivers = (n + nr - 1) / nr;
        float* block = dst;
        for (int pc = 0; pc < k; pc += kcBlock)
        {
            int kc = Math.Min(kcBlock, k - pc);
            float* src = transposed ? w + pc : w + (nint)pc * ld;
            GemmPacking.PackB(transposed, src, ld, kc, n, nr, block);
            block += (nint)kc * slivers * nr;
        }
        return new PackedRecurrentWeight(dst, k, n, kcBlock, kBlocks, slivers);
    }

    /// <summary>Floats of thread scratch <see cref="Multiply{TV}"/> needs.</summary>
    public static int ScratchFloats<TV>() where TV : unmanaged, IFloatVector<TV> =>
        GemmBlocked.KcMax * PackedTile<TV>.MR + PackedTile<TV>.MR * PackedTile<TV>.NR + 32;

    /// <summary>
    /// C[rows, N] = A[rows, K]·op(W) (+ C when <paramref name="accumulate"/>), A and C row-major with strides
    /// <paramref name="lda"/> and <paramref name="ldc"/>; <paramref name="scratch"/> holds <see cref="ScratchFloats{TV}"/> floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Multiply<TV>(int rows, float* a, nint lda, float* c, nint ldc, bool accumulate, float* scratch) where TV : unmanaged, IFloatVector<TV>
    {
        int mrMax = PackedTile<TV>.MR, nr = PackedTile<TV>.NR;
        float beta = accumulate ? 1f : 0f;
        float* aSliver = scratch;
        float* edge = scratch + GemmBlocked.KcMax * mrMax;
        for (int ic = 0; ic < rows; ic += mrMax)
        {
            int mr = Math.Min(mrMax, rows - ic);
            float* block = Data;
            for (int p = 0, pc = 0; p < KBlocks; p++, pc += KcBlock)
            {
                int kc = Math.Min(KcBlock, K - pc);
                float betaK = p == 0 ? beta : 1f;
                float* cRow = c + ic * ldc;
                if (mr == mrMax)
                {
                    GemmPacking.PackA(false, a + ic * lda + pc, lda, kc, mr, mrMax, aSliver);
                    for (int js = 0; js < Slivers; js++)
                    {
                        float* bSliver = block + (nint)js * kc * nr;
                        int cols = Math.Min(nr, N - js * nr);
                        if (cols == nr) PackedTile<TV>.Run(kc, aSliver, bSliver, cRow + js * nr, ldc, 1f, betaK);
                        else PackedTile<TV>.RunEdge(kc, aSliver, bSliver, cRow + js * nr, ldc, 1f, betaK, mr, cols, edge);
                    }
                }
                else
                {
                    // Fewer rows than a register tile (a small batch): A is read in place, two rows at a time.
                    for (int i = 0; i < mr; i += 2)
                        FewRows<TV>(Math.Min(2, mr - i), kc, a + (ic + i) * lda + pc, lda, block, cRow + i * ldc, ldc, betaK, edge);
                }
                block += (nint)kc * Slivers * nr;
            }
        }
    }

    /// <summary>
    /// One or two rows of C over every sliver of one k block: four slivers at a time so that eight (or sixteen)
    /// independent chains hide the multiply-add latency. The same chain per element as <see cref="PackedTile{TV}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FewRows<TV>(int rows, int kc, float* a, nint lda, float* block, float* c, nint ldc, float beta, float* scratch) where TV : unmanaged, IFloatVector<TV>
    {
        int w = TV.Count, nr = 2 * w;
        nint sliver = (nint)kc * nr;
        float* a1 = rows > 1 ? a + lda : a;
        int js = 0;
        for (; js + 4 <= Slivers && (js + 4) * nr <= N; js += 4)
        {
            float* b = block + js * sliver;
            TV x0 = TV.Zero, x1 = TV.Zero, x2 = TV.Zero, x3 = TV.Zero, x4 = TV.Zero, x5 = TV.Zero, x6 = TV.Zero, x7 = TV.Zero;
            TV y0 = TV.Zero, y1 = TV.Zero, y2 = TV.Zero, y3 = TV.Zero, y4 = TV.Zero, y5 = TV.Zero, y6 = TV.Zero, y7 = TV.Zero;
            for (int p = 0; p < kc; p++)
            {
                float* bp = b + p * nr;
                TV b0 = TV.Load(bp), b1 = TV.Load(bp + w);
                TV b2 = TV.Load(bp + sliver), b3 = TV.Load(bp + sliver + w);
                TV b4 = TV.Load(bp + 2 * sliver), b5 = TV.Load(bp + 2 * sliver + w);
                TV b6 = TV.Load(bp + 3 * sliver), b7 = TV.Load(bp + 3 * sliver + w);
                TV ai = TV.Create(a[p]);
                x0 = TV.Fma(ai, b0, x0);
                x1 = TV.Fma(ai, b1, x1);
                x2 = TV.Fma(ai, b2, x2);
                x3 = TV.Fma(ai, b3, x3);
                x4 = TV.Fma(ai, b4, x4);
                x5 = TV.Fma(ai, b5, x5);
                x6 = TV.Fma(ai, b6, x6);
                x7 = TV.Fma(ai, b7, x7);
                if (rows > 1)
                {
                    ai = TV.Create(a1[p]);
                    y0 = TV.Fma(ai, b0, y0);
                    y1 = TV.Fma(ai, b1, y1);
                    y2 = TV.Fma(ai, b2, y2);
                    y3 = TV.Fma(ai, b3, y3);
                    y4 = TV.Fma(ai, b4, y4);
                    y5 = TV.Fma(ai, b5, y5);
                    y6 = TV.Fma(ai, b6, y6);
                    y7 = TV.Fma(ai, b7, y7);
                }
            }
            float* cj = c + js * nr;
            Store(x0, cj, beta);
            Store(x1, cj + w, beta);
            Store(x2, cj + nr, beta);
            Store(x3, cj + nr + w, beta);
            Store(x4, cj + 2 * nr, beta);
            Store(x5, cj + 2 * nr + w, beta);
            Store(x6, cj + 3 * nr, beta);
            Store(x7, cj + 3 * nr + w, beta);
            if (rows > 1)
            {
                cj += ldc;
                Store(y0, cj, beta);
                Store(y1, cj + w, beta);
                Store(y2, cj + nr, beta);
                Store(y3, cj + nr + w, beta);
                Store(y4, cj + 2 * nr, beta);
                Store(y5, cj + 2 * nr + w, beta);
                Store(y6, cj + 3 * nr, beta);
                Store(y7, cj + 3 * nr + w, beta);
            }
        }
        for (; js < Slivers; js++)
        {
            float* b = block + js * sliver;
            TV x0 = TV.Zero, x1 = TV.Zero, y0 = TV.Zero, y1 = TV.Zero;
            for (int p = 0; p < kc; p++)
            {
                float* bp = b + p * nr;
                TV b0 = TV.Load(bp), b1 = TV.Load(bp + w);
                TV ai = TV.Create(a[p]);
                x0 = TV.Fma(ai, b0, x0);
                x1 = TV.Fma(ai, b1, x1);
                if (rows > 1)
                {
                    ai = TV.Create(a1[p]);
                    y0 = TV.Fma(ai, b0, y0);
                    y1 = TV.Fma(ai, b1, y1);
                }
            }
            int cols = Math.Min(nr, N - js * nr);
            StoreColumns(x0, x1, c + js * nr, cols, beta, scratch);
            if (rows > 1) StoreColumns(y0, y1, c + ldc + js * nr, cols, beta, scratch);
        }
    }

    /// <summary>The tile kernel's store: acc (times alpha = 1, exact), then beta·C added in one rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TV>(TV acc, float* c, float beta) where TV : unmanaged, IFloatVector<TV>
    {
        if (beta != 0f) acc = TV.Fma(TV.Create(beta), TV.Load(c), acc);
        TV.Store(acc, c);
    }

    /// <summary>The first <paramref name="cols"/> of a two-vector row, through scratch.</summary>
    private static void StoreColumns<TV>(TV lo, TV hi, float* c, int cols, float beta, float* scratch) where TV : unmanaged, IFloatVector<TV>
    {
        if (cols == 2 * TV.Count)
        {
            Store(lo, c, beta);
            Store(hi, c + TV.Count, beta);
            return;
        }
        TV.Store(lo, scratch);
        TV.Store(hi, scratch + TV.Count);
        if (beta == 0f)
            for (int j = 0; j < cols; j++) c[j] = scratch[j];
        else
            for (int j = 0; j < cols; j++) c[j] = ExactFma.Scalar(beta, c[j], scratch[j]);
    }
}
