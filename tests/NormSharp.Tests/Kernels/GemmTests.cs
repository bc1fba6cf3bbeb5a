using NormSharp.Errors;
using NormSharp.Kernels;
using NormSharp.Kernels.Simd;
using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels;

[Trait("Category", "Kernels")]
public class GemmTests
{
    /// <summary>A strided problem: op(A) is m×k, op(B) is k×n, C is m×n, each stored with padding after every row.</summary>
    private sealed class Problem
    {
        public required bool TransA, TransB;
        public required int M, N, K, Lda, Ldb, Ldc;
        public required float[] A, B, C;

        public float OpA(int i, int p) => TransA ? A[p * Lda + i] : A[i * Lda + p];
        public float OpB(int p, int j) => TransB ? B[j * Ldb + p] : B[p * Ldb + j];

        public static Problem Create(bool transA, bool transB, int m, int n, int k, int pad, ulong seed)
        {
            var rng = new Rng(seed);
            int aRows = transA ? k : m, aCols = transA ? m : k;
            int bRows = transB ? n : k, bCols = transB ? k : n;
            int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
            var a = new float[Math.Max(0, aRows * lda - pad)];
            var b = new float[Math.Max(0, bRows * ldb - pad)];
            var c = new float[Math.Max(0, m * ldc - pad)];
            rng.FillUniform(a, -1f, 1f);
            rng.FillUniform(b, -1f, 1f);
            rng.FillUniform(c, -1f, 1f);
            return new Problem
            {
                TransA = transA, TransB = transB, M = m, N = n, K = k,
                Lda = Math.Max(1, lda), Ldb = Math.Max(1, ldb), Ldc = Math.Max(1, ldc), A = a, B = b, C = c,
            };
        }

        public float[] Run(float alpha, float beta, GemmPath path = GemmPath.Auto)
        {
            var c = (float[])C.Clone();
            Gemm.MultiplyCore(TransA, TransB, M, N, K, alpha, A, Lda, B, Ldb, beta, c, Ldc, path);
            return c;
        }

        /// <summary>Checks <paramref name="actual"/> against a float64 evaluation, element by element, padding untouched.</summary>
        public void AssertMatches(float[] actual, float alpha, float beta)
        {
            Assert.Equal(C.Length, actual.Length);
            for (int i = 0; i < M; i++)
            {
                for (int j = 0; j < N; j++)
                {
                    double dot = 0, magnitude = 0;
                    for (int p = 0; p < K; p++)
                    {
                        double t = (double)OpA(i, p) * OpB(p, j);
                        dot += t;
                        magnitude += Math.Abs(t);
                    }
                    double old = beta == 0f ? 0 : C[i * Ldc + j];
                    double expected = alpha * dot + beta * old;
                    // Float32 accumulation over k terms, then the alpha/beta update: a forward error bound, not a fudge factor.
                    double tol = (K + 3) * 1.2e-7 * (Math.Abs(alpha) * magnitude + Math.Abs(beta * old)) + 1e-30;
                    double got = actual[i * Ldc + j];
                    if (!(Math.Abs(got - expected) <= tol))
                        Assert.Fail($"C[{i},{j}] = {got}, expected {expected} ± {tol} (m={M}, n={N}, k={K}, transA={TransA}, transB={TransB}, alpha={alpha}, beta={beta})");
                }
                for (int j = N; j < Ldc && i * Ldc + j < C.Length; j++)
                    Assert.Equal(BitConverter.SingleToInt32Bits(C[i * Ldc + j]), BitConverter.SingleToInt32Bits(actual[i * Ldc + j]));
            }
        }
    }

    public static TheoryData<bool, bool> TransposeCombos => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    private static IEnumerable<VectorWidth> Widths_() => Enum.GetValues<VectorWidth>().Where(Widths.IsAvailable);

    private static readonly (int M, int N, int K)[] OddShapes =
    [
        (1, 1, 1), (3, 3, 3), (1, 17, 3), (17, 1, 33), (5, 7, 1), (17, 33, 129), (33, 17, 257), (9, 129, 17),
        (129, 33, 3), (7, 1007, 20), (1007, 9, 19), (13, 45, 1007),
    ];

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void EveryPackedKernelMatchesFloat64ReferenceOnOddShapes(bool transA, bool transB)
    {
        ulong seed = 1;
        foreach (var (m, n, k) in OddShapes)
        {
            var problem = Problem.Create(transA, transB, m, n, k, pad: 0, seed++);
            foreach (var width in Widths_())
            {
                using var _ = Widths.Force(width);
                problem.AssertMatches(problem.Run(1f, 0f, GemmPath.Packed), 1f, 0f);
            }
            problem.AssertMatches(problem.Run(1f, 0f), 1f, 0f);
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void FewRowsStreamingPathMatchesReference(bool transA, bool transB)
    {
        ulong seed = 100;
        foreach (var (m, n, k) in new[] { (1, 1, 1), (1, 7, 9), (2, 17, 33), (3, 33, 1), (4, 5, 8), (4, 1007, 129), (4, 37, 1007), (3, 64, 16), (7, 33, 300), (16, 21, 257), (9, 5, 40), (13, 70, 9), (29, 40, 70) })
        {
            var problem = Problem.Create(transA, transB, m, n, k, pad: 3, seed++);
            problem.AssertMatches(problem.Run(0.75f, 0f, GemmPath.Small), 0.75f, 0f);
            problem.AssertMatches(problem.Run(1f, -0.5f, GemmPath.Small), 1f, -0.5f);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FewColumnsStreamingPathMatchesReference(bool transB)
    {
        // Few columns with A's rows contiguous: the streaming path runs mirrored (Cᵀ = op(B)ᵀ·Aᵀ) once m is past
        // the rows it takes directly.
        ulong seed = 200;
        foreach (var (m, n, k) in new[] { (1007, 1, 17), (33, 3, 129), (129, 4, 9), (40, 2, 1007), (40, 9, 300), (50, 16, 33), (70, 29, 260) })
        {
            var problem = Problem.Create(false, transB, m, n, k, pad: 2, seed++);
            problem.AssertMatches(problem.Run(1f, 0f, GemmPath.Small), 1f, 0f);
            problem.AssertMatches(problem.Run(2f, 1f), 2f, 1f);
        }
    }

    [Fact]
    public void BatchOfFourWithLargeKAndNMatchesReference()
    {
        foreach (var (transA, transB) in new[] { (false, true), (false, false), (true, false), (true, true) })
        {
            var problem = Problem.Create(transA, transB, 4, 1007, 1007, pad: 0, seed: 300);
            problem.AssertMatches(problem.Run(1f, 0f), 1f, 0f);
        }
    }

    [Theory]
    [InlineData(1f, 0f)]
    [InlineData(0.5f, 0f)]
    [InlineData(1f, 1f)]
    [InlineData(-2f, 0.25f)]
    [InlineData(0f, 0.5f)]
    [InlineData(0f, 0f)]
    public void AlphaAndBetaScaleProductAndOldC(float alpha, float beta)
    {
        ulong seed = 400;
        foreach (var (transA, transB) in new[] { (false, true), (false, false), (true, false), (true, true) })
        {
            // k spans several packed blocks, so beta must be applied once and later blocks accumulate.
            foreach (var (m, n, k) in new[] { (37, 70, 600), (12, 48, 300), (20, 80, 30), (3, 41, 77), (64, 3, 50) })
            {
                var problem = Problem.Create(transA, transB, m, n, k, pad: 1, seed++);
                foreach (var width in Widths_())
                {
                    using var _ = Widths.Force(width);
                    problem.AssertMatches(problem.Run(alpha, beta, GemmPath.Packed), alpha, beta);
                }
                problem.AssertMatches(problem.Run(alpha, beta), alpha, beta);
            }
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void SubMatrixLeadingDimensionsLeavePaddingUntouched(bool transA, bool transB)
    {
        ulong seed = 500;
        foreach (var (m, n, k) in new[] { (17, 33, 129), (4, 50, 40), (40, 4, 33), (70, 90, 300) })
        {
            var problem = Problem.Create(transA, transB, m, n, k, pad: 5, seed++);
            foreach (var width in Widths_())
            {
                using var _ = Widths.Force(width);
                problem.AssertMatches(problem.Run(1.5f, 0.5f, GemmPath.Packed), 1.5f, 0.5f);
            }
            problem.AssertMatches(problem.Run(1.5f, 0.5f), 1.5f, 0.5f);
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCombos))]
    public void BetaZeroOverwritesNaNInC(bool transA, bool transB)
    {
        foreach (var (m, n, k) in new[] { (33, 65, 70), (4, 40, 20), (50, 2, 10), (9, 9, 0) })
        {
            var problem = Problem.Create(transA, transB, m, n, k, pad: 0, seed: 600);
            problem.C.AsSpan().Fill(float.NaN);
            foreach (var (width, path) in Widths_().Select(w => (w, GemmPath.Packed)).Append((Widths.Widest, GemmPath.Auto)))
            {
                using var _ = Widths.Force(width);
                float[] c = problem.Run(1f, 0f, path);
                Assert.All(c, v => Assert.True(float.IsFinite(v)));
                problem.AssertMatches(c, 1f, 0f);
            }
        }
    }

    [Fact]
    public void ZeroAlphaDoesNotReadAOrB()
    {
        var problem = Problem.Create(false, true, 20, 30, 40, pad: 0, seed: 700);
        problem.A.AsSpan().Fill(float.NaN);
        problem.B.AsSpan().Fill(float.PositiveInfinity);
        float[] c = problem.Run(0f, 2f);
        for (int i = 0; i < c.Length; i++) Assert.Equal(2f * problem.C[i], c[i]);
    }

    [Fact]
    public void EmptyDimensionsAreAccepted()
    {
        float[] c = [1f, 2f, 3f], b = new float[15];
        // Operands that do exist must still be complete: B is 5×3 whether or not C has rows.
        Gemm.Multiply(false, false, 0, 3, 5, 1f, [], b, 0f, []);
        Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 0, 3, 5, 1f, [], [], 0f, []));
        Gemm.Multiply(false, false, 3, 0, 5, 1f, new float[15], [], 0f, []);
        Gemm.Multiply(false, false, 1, 3, 0, 1f, [], [], 0.5f, c);
        Assert.Equal([0.5f, 1f, 1.5f], c);
        Gemm.Multiply(false, false, 1, 3, 0, 1f, [], [], 0f, c);
        Assert.Equal([0f, 0f, 0f], c);
    }

    [Fact]
    public void DenseOverloadMatchesStridedCall()
    {
        foreach (var (transA, transB) in new[] { (false, true), (false, false), (true, false), (true, true) })
        {
            var problem = Problem.Create(transA, transB, 23, 41, 19, pad: 0, seed: 800);
            var c = (float[])problem.C.Clone();
            Gemm.Multiply(transA, transB, 23, 41, 19, 0.5f, problem.A, problem.B, 2f, c);
            problem.AssertMatches(c, 0.5f, 2f);
        }
    }

    [Fact]
    public void KnownSmallProduct()
    {
        // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
        float[] a = [1, 2, 3, 4, 5, 6], b = [7, 8, 9, 10, 11, 12], c = new float[4];
        Gemm.Multiply(false, false, 2, 2, 3, 1f, a, b, 0f, c);
        Assert.Equal([58f, 64f, 139f, 154f], c);
        float[] bt = [7, 9, 11, 8, 10, 12];
        Gemm.Multiply(false, true, 2, 2, 3, 1f, a, bt, 0f, c);
        Assert.Equal([58f, 64f, 139f, 154f], c);
    }

    [Fact]
    public void ParallelSplitGivesSameBitsAsOneThreadAndAsARepeat()
    {
        CheckSplitAgainstSingleThread<VecScalar>(VectorWidth.Scalar);
        if (Widths.IsAvailable(VectorWidth.Bits128)) CheckSplitAgainstSingleThread<Vec128>(VectorWidth.Bits128);
        if (Widths.IsAvailable(VectorWidth.Bits256)) CheckSplitAgainstSingleThread<Vec256>(VectorWidth.Bits256);
        if (Widths.IsAvailable(VectorWidth.Bits512)) CheckSplitAgainstSingleThread<Vec512>(VectorWidth.Bits512);
    }

    private static unsafe void CheckSplitAgainstSingleThread<TV>(VectorWidth width) where TV : unmanaged, IFloatVector<TV>
    {
        using var _ = Widths.Force(width);
        const GemmPath path = GemmPath.Packed;
        // Big enough that the pool splits C (by columns, then by rows); the single-threaded loop nest over the
        // whole matrix is the reference, and every element must come out with the same bits.
        foreach (var (transA, transB, m, n, k) in new[] { (false, true, 96, 700, 300), (true, false, 300, 40, 260) })
        {
            var problem = Problem.Create(transA, transB, m, n, k, pad: 0, seed: 900);
            float[] parallel = problem.Run(1f, 0.5f, path);
            float[] again = problem.Run(1f, 0.5f, path);
            var single = (float[])problem.C.Clone();
            fixed (float* pa = problem.A)
            fixed (float* pb = problem.B)
            fixed (float* pc = single)
                GemmBlocked.Run<TV>(transA, transB, m, n, k, 1f, pa, problem.Lda, pb, problem.Ldb, 0.5f, pc, problem.Ldc);
            Assert.Equal(single, parallel);
            Assert.Equal(parallel, again);
            problem.AssertMatches(parallel, 1f, 0.5f);
        }
    }

    [Fact]
    public void SmallPathGivesSameBitsOnRepeat()
    {
        var problem = Problem.Create(false, true, 4, 4001, 300, pad: 0, seed: 1000);
        Assert.Equal(problem.Run(1f, 0f), problem.Run(1f, 0f));
    }

    [Fact]
    public void NegativeSizesAreRejected()
    {
        float[] x = new float[16];
        var e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, -1, 2, 2, 1f, x, 2, x, 2, 0f, x, 2));
        Assert.Contains("m=-1", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, -2, 2, 1f, x, 2, x, 2, 0f, x, 2));
        Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 2, -3, 1f, x, 2, x, 2, 0f, x, 2));
    }

    [Fact]
    public void LeadingDimensionShorterThanRowIsRejected()
    {
        float[] x = new float[64];
        var e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, x, 3, x, 3, 0f, x, 3));
        Assert.Contains("A is 2×4", e.Message);
        Assert.Contains("leading dimension is 3", e.Message);
        // Transposed A is stored k×m, so its leading dimension must cover m.
        e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(true, false, 5, 3, 2, 1f, x, 4, x, 3, 0f, x, 3));
        Assert.Contains("A (transposed) is stored 2×5", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, true, 2, 3, 4, 1f, x, 4, x, 3, 0f, x, 3));
        Assert.Contains("B (transposed) is stored 3×4", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, x, 4, x, 3, 0f, x, 2));
        Assert.Contains("C is 2×3", e.Message);
    }

    [Fact]
    public void SpansTooShortAreRejectedNamingTheOperand()
    {
        float[] a = new float[2 * 4], b = new float[4 * 3], c = new float[2 * 3];
        var e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, a.AsSpan(1), b, 0f, c));
        Assert.Contains("A is 2×4", e.Message);
        Assert.Contains("needs 8 elements", e.Message);
        Assert.Contains("has 7", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, a, b.AsSpan(2), 0f, c));
        Assert.Contains("B is 4×3", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, a, b, 0f, c.AsSpan(0, 5)));
        Assert.Contains("C is 2×3", e.Message);
        // With a leading dimension, the last row only needs its own length: (rows − 1)·ld + cols.
        float[] padded = new float[(2 - 1) * 6 + 4];
        Gemm.Multiply(false, false, 2, 3, 4, 1f, padded, 6, b, 3, 0f, c, 3);
        Assert.Throws<ShapeMismatchException>(() => Gemm.Multiply(false, false, 2, 3, 4, 1f, padded.AsSpan(1), 6, b, 3, 0f, c, 3));
    }
}
