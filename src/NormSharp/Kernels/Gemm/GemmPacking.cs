using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NormSharp.Kernels;

/// <summary>
/// Copies blocks of A and B into the layouts the micro-kernels stream through: an A sliver holds MR values per
/// k step, a B sliver NR values per k step, so the kernel's loads are contiguous and its broadcasts come from one
/// cache line. Slivers at the matrix edge are padded with zeros, which lets the kernel always run a full tile.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(B)[0..kc, 0..nc] into consecutive <paramref name="nr"/>-column slivers of kc×nr floats each.
    /// <paramref name="b"/> points at op(B)[0, 0]: row p of B when not transposed, row 0 of the [n, k] storage when transposed.
    /// </summary>
    public static void PackB(bool transB, float* b, nint ldb, int kc, int nc, int nr, float* dst)
    {
        for (int js = 0; js < nc; js += nr, dst += (nint)nr * kc)
        {
            int cols = Math.Min(nr, nc - js);
            if (!transB)
                CopyRows(b + js, ldb, kc, cols, nr, dst);
            else
                TransposeRows(b + js * ldb, ldb, cols, kc, nr, dst);
        }
    }

    /// <summary>
    /// Packs op(A)[0..mr, 0..kc] into one sliver of kc×mrMax floats, zero-padding rows mr..mrMax.
    /// <paramref name="a"/> points at op(A)[0, 0].
    /// </summary>
    public static void PackA(bool transA, float* a, nint lda, int kc, int mr, int mrMax, float* dst)
    {
        if (transA)
            CopyRows(a, lda, kc, mr, mrMax, dst);
        else
            TransposeRows(a, lda, mr, kc, mrMax, dst);
    }

    /// <summary>dst[p·width + j] = src[p·ls + j] for j &lt; cols, zero for cols ≤ j &lt; width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyRows(float* src, nint ls, int rows, int cols, int width, float* dst)
    {
        for (int p = 0; p < rows; p++, src += ls, dst += width)
        {
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 8 <= cols; j += 8)
                    Vector256.Load(src + j).Store(dst + j);
            }
            for (; j < cols; j++) dst[j] = src[j];
            for (; j < width; j++) dst[j] = 0f;
        }
    }

    /// <summary>
    /// dst[p·width + i] = src[i·ls + p] for i &lt; rows and p &lt; cols, zero for rows ≤ i &lt; width:
    /// a rows×cols block becomes cols rows of width floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeRows(float* src, nint ls, int rows, int cols, int width, float* dst)
    {
        int p = 0;
        if (Avx.IsSupported && rows == width)
        {
            int pv = cols & ~7;
            // Row group by row group, so that only a few source rows are streamed at a time.
            int i = 0;
            for (; i + 8 <= rows; i += 8)
                for (p = 0; p < pv; p += 8)
                    Transpose8x8(src + i * ls + p, ls, dst + (nint)p * width + i, width);
            for (; i + 4 <= rows; i += 4)
                for (p = 0; p < pv; p += 8)
                    Transpose4x8(src + i * ls + p, ls, dst + (nint)p * width + i, width);
            for (; i < rows; i++)
                for (p = 0; p < pv; p++)
                    dst[(nint)p * width + i] = src[i * ls + p];
            p = pv;
        }
        for (; p < cols; p++)
        {
            float* d = dst + (nint)p * width;
            int i = 0;
            for (; i < rows; i++) d[i] = src[i * ls + p];
            for (; i < width; i++) d[i] = 0f;
        }
    }

    /// <summary>Transposes the 8×8 block at <paramref name="src"/> (row stride ls) into <paramref name="dst"/> (row stride ld).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint ls, float* dst, nint ld)
    {
        Vector256<float> r0 = Avx.LoadVector256(src);
        Vector256<float> r1 = Avx.LoadVector256(src + ls);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * ls);
        Vector256<float> r3 = Avx.LoadVector256(src + 3 * ls);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * ls);
        Vector256<float> r5 = Avx.LoadVector256(src + 5 * ls);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * ls);
        Vector256<float> r7 = Avx.LoadVector256(src + 7 * ls);

        // Interleave pairs of rows, then pairs of pairs: each 128-bit lane then holds four rows' values of one column.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ld, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ld, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ld, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ld, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ld, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ld, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ld, Avx.Permute2x128(s3, s7, 0x31));
    }

    /// <summary>Transposes the 4×8 block at <paramref name="src"/> (row stride ls) into 8 rows of 4 at <paramref name="dst"/> (row stride ld).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x8(float* src, nint ls, float* dst, nint ld)
    {
        Vector256<float> r0 = Avx.LoadVector256(src);
        Vector256<float> r1 = Avx.LoadVector256(src + ls);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * ls);
        Vector256<float> r3 = Avx.LoadVector256(src + 3 * ls);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        s0.GetLower().Store(dst);
        s1.GetLower().Store(dst + ld);
        s2.GetLower().Store(dst + 2 * ld);
        s3.GetLower().Store(dst + 3 * ld);
        s0.GetUpper().Store(dst + 4 * ld);
        s1.GetUpper().Store(dst + 5 * ld);
        s2.GetUpper().Store(dst + 6 * ld);
        s3.GetUpper().Store(dst + 7 * ld);
    }
}
