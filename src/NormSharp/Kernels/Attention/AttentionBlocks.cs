using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Attention;

/// <summary>
/// The block products of the attention kernels, register-tiled for the small inner sizes attention has (a head
/// dimension of tens, blocks of 64): four rows at a time against two vectors of columns, operands read in place
/// or from a transposed or padded copy made once per block. Every output element is one chain of fused
/// multiply-adds in a fixed order, so the results are the same at every vector width and on every thread.
/// </summary>
internal static unsafe class AttentionBlocks
{
    /// <summary>Columns of a score block and of a transposed operand.</summary>
    public const int Width = 64;

    /// <summary>
    /// c[r·64 + j] = alpha·Σ_d a[r·lda + d]·bt[d·64 + j] for rows r &lt; <paramref name="rows"/>. Columns are computed
    /// (in whole tiles) up to <paramref name="cols"/>, and for row r no further than column r + <paramref name="lastVisible"/>
    /// (a causal mask: the caller masks the rest). <paramref name="bt"/> is a transposed operand [dh × 64] whose
    /// columns past the real ones hold zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores<TV>(float* a, long lda, int rows, int dh, float* bt, float alpha, float* c, int cols, int lastVisible)
        where TV : unmanaged, IFloatVector<TV>
    {
        int vc = TV.Count, tile = 2 * vc;
        var scale = TV.Create(alpha);
        for (int r0 = 0; r0 < rows; r0 += 4)
        {
            int nr = Math.Min(4, rows - r0);
            float* a0 = a + r0 * lda;
            float* a1 = nr > 1 ? a0 + lda : a0, a2 = nr > 2 ? a0 + 2 * lda : a0, a3 = nr > 3 ? a0 + 3 * lda : a0;
            long need = Math.Min(cols, (long)r0 + nr + lastVisible);
            int end = (int)Math.Min(Width, (need + tile - 1) / tile * tile);
            float* c0 = c + r0 * Width;
            for (int j = 0; j < end; j += tile)
            {
                TV s00 = TV.Zero, s01 = TV.Zero, s10 = TV.Zero, s11 = TV.Zero, s20 = TV.Zero, s21 = TV.Zero, s30 = TV.Zero, s31 = TV.Zero;
                float* b = bt + j;
                for (int d = 0; d < dh; d++, b += Width)
                {
                    var b0 = TV.Load(b);
                    var b1 = TV.Load(b + vc);
                    var x = TV.Create(a0[d]);
                    s00 = TV.Fma(x, b0, s00);
                    s01 = TV.Fma(x, b1, s01);
                    x = TV.Create(a1[d]);
                    s10 = TV.Fma(x, b0, s10);
                    s11 = TV.Fma(x, b1, s11);
                    x = TV.Create(a2[d]);
                    s20 = TV.Fma(x, b0, s20);
                    s21 = TV.Fma(x, b1, s21);
                    x = TV.Create(a3[d]);
                    s30 = TV.Fma(x, b0, s30);
                    s31 = TV.Fma(x, b1, s31);
                }
                float* o = c0 + j;
                TV.Store(s00 * scale, o);
                TV.Store(s01 * scale, o + vc);
                if (nr > 1) { TV.Store(s10 * scale, o + Width); TV.Store(s11 * scale, o + Width + vc); }
                if (nr > 2) { TV.Store(s20 * scale, o + 2 * Width); TV.Store(s21 * scale, o + 2 * Width + vc); }
                if (nr > 3) { TV.Store(s30 * scale, o + 3 * Width); TV.Store(s31 * scale, o + 3 * Width + vc); }
            }
        }
    }

    /// <summary>
    /// c[r·ldc + v] = (overwrite ? 0 : c[r·ldc + v]) + Σ_p (alpha·a[r·ars + p·acs])·b[p·ldb + v] for r &lt; m and
    /// v &lt; <paramref name="width"/> (a multiple of the vector length: a padded head dimension). A is read in place in
    /// either orientation through its strides; B and C are padded rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Accumulate<TV>(int m, int k, float alpha, float* a, long ars, long acs, float* b, int ldb, int width, float* c, int ldc, bool overwrite)
        where TV : unmanaged, IFloatVector<TV>
    {
        int vc = TV.Count;
        for (int r0 = 0; r0 < m; r0 += 4)
        {
            int nr = Math.Min(4, m - r0);
            float* a0 = a + r0 * ars;
            float* a1 = nr > 1 ? a0 + ars : a0, a2 = nr > 2 ? a0 + 2 * ars : a0, a3 = nr > 3 ? a0 + 3 * ars : a0;
            float* c0 = c + (long)r0 * ldc;
            float* c1 = nr > 1 ? c0 + ldc : c0, c2 = nr > 2 ? c0 + 2L * ldc : c0, c3 = nr > 3 ? c0 + 3L * ldc : c0;
            int v = 0;
            for (; v + 2 * vc <= width; v += 2 * vc)
            {
                TV s00, s01, s10, s11, s20, s21, s30, s31;
                if (overwrite) s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = TV.Zero;
                else
                {
                    (s00, s01) = (TV.Load(c0 + v), TV.Load(c0 + v + vc));
                    (s10, s11) = (TV.Load(c1 + v), TV.Load(c1 + v + vc));
                    (s20, s21) = (TV.Load(c2 + v), TV.Load(c2 + v + vc));
                    (s30, s31) = (TV.Load(c3 + v), TV.Load(c3 + v + vc));
                }
                float* bp = b + v;
                for (int p = 0; p < k; p++, bp += ldb)
                {
                    var b0 = TV.Load(bp);
                    var b1 = TV.Load(bp + vc);
                    long ap = p * acs;
                    var x = TV.Create(alpha * a0[ap]);
                    s00 = TV.Fma(x, b0, s00);
                    s01 = TV.Fma(x, b1, s01);
                    x = TV.Create(alpha * a1[ap]);
                    s10 = TV.Fma(x, b0, s10);
                    s11 = TV.Fma(x, b1, s11);
                    x = TV.Create(alpha * a2[ap]);
                    s20 = TV.Fma(x, b0, s20);
                    s21 = TV.Fma(x, b1, s21);
                    x = TV.Create(alpha * a3[ap]);
                    s30 = TV.Fma(x, b0, s30);
                    s31 = TV.Fma(x, b1, s31);
                }
                TV.Store(s00, c0 + v);
                TV.Store(s01, c0 + v + vc);
                if (nr > 1) { TV.Store(s10, c1 + v); TV.Store(s11, c1 + v + vc); }
                if (nr > 2) { TV.Store(s20, c2 + v); TV.Store(s21, c2 + v + vc); }
                if (nr > 3) { TV.Store(s30, c3 + v); TV.Store(s31, c3 + v + vc); }
            }
            if (v < width)
            {
                // One vector left.
                TV s0, s1, s2, s3;
                if (overwrite) s0 = s1 = s2 = s3 = TV.Zero;
                else (s0, s1, s2, s3) = (TV.Load(c0 + v), TV.Load(c1 + v), TV.Load(c2 + v), TV.Load(c3 + v));
                float* bp = b + v;
                for (int p = 0; p < k; p++, bp += ldb)
                {
                    var b0 = TV.Load(bp);
                    long ap = p * acs;
                    s0 = TV.Fma(TV.Create(alpha * a0[ap]), b0, s0);
                    s1 = TV.Fma(TV.Create(alpha * a1[ap]), b0, s1);
                    s2 = TV.Fma(TV.Create(alpha * a2[ap]), b0, s2);
                    s3 = TV.Fma(TV.Create(alpha * a3[ap]), b0, s3);
                }
                TV.Store(s0, c0 + v);
                if (nr > 1) TV.Store(s1, c1 + v);
                if (nr > 2) TV.Store(s2, c2 + v);
                if (nr > 3) TV.Store(s3, c3 + v);
            }
        }
    }

    /// <summary>dst[d·64 + r] = src[r·stride + d] for r &lt; rows, zeros for the columns from rows to 64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(float* src, long stride, int rows, int dh, float* dst)
    {
        // Row by row: each source row is read once, contiguously; the 64-float destination rows stay in L1.
        for (int r = 0; r < rows; r++)
        {
            float* s = src + r * stride;
            float* o = dst + r;
            for (int d = 0; d < dh; d++) o[d * Width] = s[d];
        }
        if (rows < Width)
            for (int d = 0; d < dh; d++) new Span<float>(dst + d * Width + rows, Width - rows).Clear();
    }

    /// <summary>dst[r·width + d] = src[r·stride + d] for r &lt; rows and d &lt; dh, zeros for d from dh to width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pad(float* src, long stride, int rows, int dh, float* dst, int width)
    {
        for (int r = 0; r < rows; r++)
        {
            new ReadOnlySpan<float>(src + r * stride, dh).CopyTo(new Span<float>(dst + (long)r * width, dh));
            new Span<float>(dst + (long)r * width + dh, width - dh).Clear();
        }
    }

    /// <summary>dst[r·stride + d] = src[r·width + d]·scale[r] (scale null: 1) for r &lt; rows and d &lt; dh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unpad(float* src, int width, int rows, int dh, float* dst, long stride, float* scale)
    {
        for (int r = 0; r < rows; r++)
        {
            float* s = src + (long)r * width;
            float* o = dst + r * stride;
            if (scale is null) new ReadOnlySpan<float>(s, dh).CopyTo(new Span<float>(o, dh));
            else
            {
                float f = scale[r];
                for (int d = 0; d < dh; d++) o[d] = s[d] * f;
            }
        }
    }

    /// <summary>Clears rows of a strided operand.</summary>
    public static void ClearRows(float* p, int rows, long stride, int cols)
    {
        for (int r = 0; r < rows; r++) new Span<float>(p + r * stride, cols).Clear();
    }
}
