using NormSharp.Kernels.Simd;
using NormSharp.Threading;

namespace NormSharp.Kernels;

/// <summary>
/// The packed GEMM path (GotoBLAS/BLIS loop nest). For each block of at most <see cref="NcMax"/> columns and
/// <see cref="KcMax"/> k steps, a KC×NC panel of op(B) is packed once and stays in L2; then, sliver by sliver,
/// MR rows of op(A) are packed into an L1-resident KC×MR buffer and swept across every NR-wide sliver of the panel.
/// The k blocks are visited in a fixed order and every element of C is owned by one thread, so the result does not
/// depend on timing or on how the columns or rows were split among threads. The k block size depends only on k
/// (never on the machine), and each element's chain over a block is the same at every width, so neither does the
/// result depend on the vector width.
/// </summary>
internal static unsafe class GemmBlocked
{
    /// <summary>
    /// Most k steps per packed block: a KC×MR sliver of A must stay in L1 while the kernel streams B. A fixed
    /// constant, since the accumulators restart at each k block and the block size therefore shapes the result.
    /// </summary>
    internal const int KcMax = 256;

    /// <summary>Most columns per packed B panel: KC×NC floats (512 KiB) must stay in a 1 MiB L2.</summary>
    internal const int NcMax = 512;

    /// <summary>Below this much work per chunk (about 10 µs), handing a chunk to another thread costs more than it saves.</summary>
    private const double MinFlopsPerChunk = 1e6;

    /// <summary>
    /// Fewest slivers per chunk: each chunk packs the whole of the other operand again, which eight slivers of work
    /// amortize to a few percent. (The split never changes a result: every element of C is one thread's.)
    /// </summary>
    private const int MinSliversPerChunk = 8;

    /// <summary>Splits C over the pool along its longer side (in whole slivers) and runs the loop nest on each part.</summary>
    public static void Multiply<TV>(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc) where TV : unmanaged, IFloatVector<TV>
    {
        // Every thread packs all of the operand along the side that is not split (A when splitting columns),
        // so split the longer side: the operand each thread repacks is then the smaller one.
        bool splitN = n >= m;
        int tile = splitN ? PackedTile<TV>.NR : PackedTile<TV>.MR;
        int count = ((splitN ? n : m) + tile - 1) / tile;
        double flopsPerSliver = 2.0 * (splitN ? m : n) * k * tile;
        int grain = (int)Math.Min(int.MaxValue, Math.Max(MinSliversPerChunk, Math.Ceiling(MinFlopsPerChunk / flopsPerSliver)));
        // But no fewer chunks than threads, while there are slivers to go round.
        grain = Math.Max(1, Math.Min(grain, (count + ParallelFor.MaxThreads - 1) / ParallelFor.MaxThreads));
        var body = new Body<TV>
        {
            TransA = transA, TransB = transB, SplitN = splitN, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
            A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc,
        };
        ParallelFor.Run(count, grain, ref body);
    }

    private struct Body<TV> : IParallelBody where TV : unmanaged, IFloatVector<TV>
    {
        public bool TransA, TransB, SplitN;
        public int M, N, K;
        public float Alpha, Beta;
        public float* A, B, C;
        public nint Lda, Ldb, Ldc;

        public readonly void Execute(int chunk, int start, int end)
        {
            if (SplitN)
            {
                int j0 = start * PackedTile<TV>.NR, j1 = Math.Min(N, end * PackedTile<TV>.NR);
                float* b = TransB ? B + j0 * Ldb : B + j0;
                Run<TV>(TransA, TransB, M, j1 - j0, K, Alpha, A, Lda, b, Ldb, Beta, C + j0, Ldc);
            }
            else
            {
                int i0 = start * PackedTile<TV>.MR, i1 = Math.Min(M, end * PackedTile<TV>.MR);
                float* a = TransA ? A + i0 : A + i0 * Lda;
                Run<TV>(TransA, TransB, i1 - i0, N, K, Alpha, a, Lda, B, Ldb, Beta, C + i0 * Ldc, Ldc);
            }
        }
    }

    /// <summary>The single-threaded loop nest over an m×n part of C; k ≥ 1.</summary>
    /// <remarks>
    /// Never inlined: inlined into the parallel body, which tiered compilation recompiles with profile data, the loop
    /// nest ran at less than half speed when only one layout had been profiled (128×784×1000 on one thread, B not
    /// transposed: 94 against 224 GFLOP/s).
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining | System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Run<TV>(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc) where TV : unmanaged, IFloatVector<TV>
    {
        int mrMax = PackedTile<TV>.MR, nrMax = PackedTile<TV>.NR;

        // Even block sizes (k rounded to a multiple of 8 for the transposing packers) rather than a full block
        // followed by a sliver of a block.
        int kBlocks = (k + KcMax - 1) / KcMax;
        int kcBlock = Math.Min(KcMax, ((k + kBlocks - 1) / kBlocks + 7) & ~7);
        int nBlocks = (n + NcMax - 1) / NcMax;
        int ncBlock = Math.Min(NcMax, ((n + nBlocks - 1) / nBlocks + nrMax - 1) / nrMax * nrMax);

        long panelFloats = (long)kcBlock * ((Math.Min(ncBlock, n) + nrMax - 1) / nrMax * nrMax);
        long sliverFloats = (long)kcBlock * mrMax;
        float* bPanel = GemmScratch.Get(panelFloats + sliverFloats + mrMax * nrMax + 32);
        float* aSliver = bPanel + ((panelFloats + 15) & ~15L);
        float* edge = aSliver + ((sliverFloats + 15) & ~15L);

        for (int jc = 0; jc < n; jc += ncBlock)
        {
            int nc = Math.Min(ncBlock, n - jc);
            for (int pc = 0; pc < k; pc += kcBlock)
            {
                int kc = Math.Min(kcBlock, k - pc);
                float* bBlock = transB ? b + jc * ldb + pc : b + pc * ldb + jc;
                GemmPacking.PackB(transB, bBlock, ldb, kc, nc, nrMax, bPanel);
                // Later k blocks add onto what the earlier ones stored.
                float betaK = pc == 0 ? beta : 1f;
                for (int ic = 0; ic < m; ic += mrMax)
                {
                    int mr = Math.Min(mrMax, m - ic);
                    float* aBlock = transA ? a + pc * lda + ic : a + ic * lda + pc;
                    GemmPacking.PackA(transA, aBlock, lda, kc, mr, mrMax, aSliver);
                    float* cRow = c + ic * ldc + jc;
                    for (int jr = 0; jr < nc; jr += nrMax)
                    {
                        int nr = Math.Min(nrMax, nc - jr);
                        float* bSliver = bPanel + (nint)jr * kc;
                        if (mr == mrMax && nr == nrMax)
                            PackedTile<TV>.Run(kc, aSliver, bSliver, cRow + jr, ldc, alpha, betaK);
                        else
                            PackedTile<TV>.RunEdge(kc, aSliver, bSliver, cRow + jr, ldc, alpha, betaK, mr, nr, edge);
                    }
                }
            }
        }
    }
}
