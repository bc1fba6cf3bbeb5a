using System.Diagnostics;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels;

/// <summary>
/// Single-precision matrix multiplication, row-major: <c>C = alpha·op(A)·op(B) + beta·C</c>, the base of every
/// Linear layer and recurrent cell. Large products run a packed, register-blocked kernel split over the worker
/// pool; products with few rows (or few columns), such as a small batch, stream the large operand once instead.
/// The path is chosen from the shape alone and each path fixes every element's order of additions (the k block size
/// is a constant), so results are bit-identical from run to run, on any thread count and at every vector width:
/// AVX-512, AVX2, 128-bit and scalar machines compute the same C.
/// </summary>
public static class Gemm
{
    /// <summary>
    /// Computes <c>C = alpha·op(A)·op(B) + beta·C</c> on row-major matrices, where op(A) is m×k and op(B) is k×n.
    /// Without transposition A is stored m×k with row stride <paramref name="lda"/>; with <paramref name="transA"/>
    /// A is stored k×m and op(A) = Aᵀ. Likewise B is stored k×n, or n×k with <paramref name="transB"/>.
    /// C is m×n with row stride <paramref name="ldc"/> and must not share memory with A or B.
    /// When <paramref name="beta"/> is 0 the old contents of C are not read (NaN there is overwritten); when
    /// <paramref name="alpha"/> is 0 or k is 0, A and B are not read.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A size is negative, a leading dimension is shorter than its row,
    /// or a span is too short for its matrix.</exception>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => MultiplyCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, GemmPath.Auto);

    /// <summary>
    /// Computes <c>C = alpha·op(A)·op(B) + beta·C</c> on dense row-major matrices (leading dimensions equal to the
    /// stored row lengths: A is m×k, or k×m when <paramref name="transA"/>; B is k×n, or n×k when
    /// <paramref name="transB"/>; C is m×n). See the strided overload for the rest of the contract.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A size is negative or a span is too short for its matrix.</exception>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
        => MultiplyCore(transA, transB, m, n, k, alpha, a, Math.Max(1, transA ? m : k), b, Math.Max(1, transB ? k : n),
            beta, c, Math.Max(1, n), GemmPath.Auto);

    /// <summary>The strided entry point with the kernel choice exposed, so tests can reach every code path on any machine.</summary>
    internal static unsafe void MultiplyCore(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, GemmPath path)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        fixed (float* pc = c)
        {
            if (k == 0 || alpha == 0f)
            {
                ScaleC(m, n, beta, pc, ldc);
                return;
            }
            fixed (float* pa = a)
            fixed (float* pb = b)
            {
                Dispatch(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, path);
            }
        }
    }

    private static unsafe void Dispatch(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc, GemmPath path)
    {
        bool takesSmall = GemmSmall.Takes(transA, transB, m, n, k, out bool mirrored);
        if (path == GemmPath.Auto) path = takesSmall ? GemmPath.Small : GemmPath.Packed;
        if (path == GemmPath.Small)
        {
            MultiplySmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, mirrored || m > GemmSmall.MaxRows);
            return;
        }
        var work = new PackedWork
        {
            TransA = transA, TransB = transB, M = m, N = n, K = k, Alpha = alpha, Beta = beta, A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc,
        };
        Widths.Dispatch(ref work);
    }

    private unsafe struct PackedWork : IWidthGeneric
    {
        public bool TransA, TransB;
        public int M, N, K;
        public float Alpha, Beta;
        public float* A, B, C;
        public nint Lda, Ldb, Ldc;

        public readonly void Run<TV>() where TV : unmanaged, IFloatVector<TV> =>
            GemmBlocked.Multiply<TV>(TransA, TransB, M, N, K, Alpha, A, Lda, B, Ldb, Beta, C, Ldc);
    }

    private static unsafe void MultiplySmall(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc, bool mirrored)
    {
        if (!mirrored)
        {
            if (!transB)
            {
                // C rows are sums of B rows: stream B row by row with op(A)'s entries broadcast in place.
                GemmSmall.AxpyRows(m, n, k, alpha, a, transA ? 1 : lda, transA ? lda : 1, b, ldb, beta, c, ldc);
                return;
            }
            // C = op(A)·Bᵀ with B's rows contiguous: dot products against op(A)'s rows, gathered when strided.
            float* x = a;
            nint xs = lda;
            if (transA)
            {
                x = GemmScratch.Get((long)m * k);
                Gather(a, lda, k, m, x);
                xs = k;
            }
            GemmSmall.DotRows(m, n, k, alpha, x, xs, b, ldb, beta, c, ldc, 1);
        }
        else
        {
            Debug.Assert(n <= GemmSmall.MaxRows && !transA, "the mirrored streaming path needs few columns and A's rows contiguous");
            // Few columns and A's rows contiguous: Cᵀ = op(B)ᵀ·Aᵀ, the same dot products with the roles swapped.
            float* x = b;
            nint xs = ldb;
            if (!transB)
            {
                x = GemmScratch.Get((long)n * k);
                Gather(b, ldb, k, n, x);
                xs = k;
            }
            GemmSmall.DotRows(n, m, k, alpha, x, xs, a, lda, beta, c, 1, ldc);
        }
    }

    /// <summary>dst[j·rows + p] = src[p·ls + j]: the columns of a rows×cols block as contiguous rows.</summary>
    private static unsafe void Gather(float* src, nint ls, int rows, int cols, float* dst)
    {
        for (int p = 0; p < rows; p++)
            for (int j = 0; j < cols; j++)
                dst[(nint)j * rows + p] = src[p * ls + j];
    }

    private static unsafe void ScaleC(int m, int n, float beta, float* c, nint ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + i * ldc, n);
            if (beta == 0f)
                row.Clear();
            else
                for (int j = 0; j < row.Length; j++) row[j] *= beta;
        }
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ShapeMismatchException($"Gemm: sizes must not be negative, got m={m}, n={n}, k={k}.");
        CheckOperand("A", transA, m, k, aLength, lda);
        CheckOperand("B", transB, k, n, bLength, ldb);
        CheckOperand("C", false, m, n, cLength, ldc);
    }

    /// <summary>Checks an operand whose op() is rows×cols: stored cols×rows when transposed.</summary>
    private static void CheckOperand(string name, bool trans, int rows, int cols, int length, int ld)
    {
        int storedRows = trans ? cols : rows, storedCols = trans ? rows : cols;
        // The description is built only on failure: this check runs on every call of a training step.
        string Stored() => trans ? $"{name} (transposed) is stored {storedRows}×{storedCols}" : $"{name} is {storedRows}×{storedCols}";
        if (ld < Math.Max(1, storedCols))
            throw new ShapeMismatchException($"Gemm: {Stored()} but its leading dimension is {ld}; it must be at least {Math.Max(1, storedCols)}.");
        long needed = storedRows == 0 || storedCols == 0 ? 0 : (long)(storedRows - 1) * ld + storedCols;
        if (length < needed)
            throw new ShapeMismatchException($"Gemm: {Stored()} with leading dimension {ld}, which needs {needed} elements, but its span has {length}.");
    }
}

/// <summary>Which GEMM implementation runs; anything but <see cref="Auto"/> is for tests and benchmarks (the vector width is <see cref="Widths"/>'s).</summary>
internal enum GemmPath
{
    /// <summary>Chosen from the shape.</summary>
    Auto,
    /// <summary>Streams the large operand, for products with few rows (or few columns).</summary>
    Small,
    /// <summary>Packed panels and the register-blocked <see cref="PackedTile{TV}"/>.</summary>
    Packed,
}
