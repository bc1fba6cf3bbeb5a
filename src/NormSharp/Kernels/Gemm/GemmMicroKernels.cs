using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NormSharp.Kernels;

/// <summary>
/// A register-blocked GEMM micro-kernel: multiplies an MR-row sliver of packed A by an NR-column sliver of packed B
/// over kc steps, keeping the whole tile in registers, then writes <c>C = alpha·acc + beta·C</c>
/// (<c>alpha·acc</c> alone when beta is 0, so old contents of C, NaN included, are never read).
/// Packed A holds MR values per k step and packed B NR values per k step, both contiguous, zero-padded at edges.
/// </summary>
internal interface IGemmMicroKernel
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }

    /// <summary>Whether the hardware runs this kernel natively.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>Computes one full MR×NR tile of C at <paramref name="c"/> with row stride <paramref name="ldc"/>.</summary>
    static abstract unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta);

    /// <summary>
    /// Computes the top-left mr×nr part of a tile at the matrix edge. <paramref name="scratch"/> holds MR×NR floats
    /// for tiles the kernel cannot store directly.
    /// </summary>
    static abstract unsafe void RunEdge(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, int mr, int nr, float* scratch);
}

/// <summary>Helpers shared by the micro-kernels' edge handling.</summary>
internal static unsafe class GemmEdge
{
    /// <summary>
    /// Writes the top-left mr×nr of a tile computed with beta = 0 into C, with the same rounding as the
    /// kernels' full-tile store (one fused multiply-add of beta·C onto alpha·acc).
    /// </summary>
    public static void Merge(float* tile, nint ldt, float* c, nint ldc, int mr, int nr, float beta)
    {
        for (int i = 0; i < mr; i++, tile += ldt, c += ldc)
        {
            if (beta == 0f)
                for (int j = 0; j < nr; j++) c[j] = tile[j];
            else
                for (int j = 0; j < nr; j++) c[j] = MathF.FusedMultiplyAdd(beta, c[j], tile[j]);
        }
    }
}

/// <summary>
/// 8×32 tile of Vector512 FMAs (16 accumulators, 2 loads and 8 broadcasts per k step). On Zen 4 every tile shape
/// from 4×64 to 14×32 runs the FMA units at their peak from packed data, so the shape is chosen to waste little at
/// the edges: 8 rows divide the usual batch sizes, and narrower 4-row and 16-column variants finish ragged edges.
/// </summary>
internal readonly struct Avx512Kernel8x32 : IGemmMicroKernel
{
    public static int MR => 8;
    public static int NR => 32;
    public static bool IsSupported => Vector512.IsHardwareAccelerated;

    public static unsafe void RunEdge(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, int mr, int nr, float* scratch)
    {
        int rows = mr <= 4 ? 4 : 8, cols = nr <= 16 ? 16 : 32;
        bool direct = rows == mr && cols == nr;
        float* dst = direct ? c : scratch;
        nint ld = direct ? ldc : 32;
        float b0 = direct ? beta : 0f;
        if (rows == 4)
        {
            if (cols == 16) Run4x16(kc, a, b, dst, ld, alpha, b0);
            else Run4x32(kc, a, b, dst, ld, alpha, b0);
        }
        else
        {
            if (cols == 16) Run8x16(kc, a, b, dst, ld, alpha, b0);
            else Run(kc, a, b, dst, ld, alpha, b0);
        }
        if (!direct) GemmEdge.Merge(scratch, 32, c, ldc, mr, nr, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c0_0 = default; Vector512<float> c0_1 = default;
        Vector512<float> c1_0 = default; Vector512<float> c1_1 = default;
        Vector512<float> c2_0 = default; Vector512<float> c2_1 = default;
        Vector512<float> c3_0 = default; Vector512<float> c3_1 = default;
        Vector512<float> c4_0 = default; Vector512<float> c4_1 = default;
        Vector512<float> c5_0 = default; Vector512<float> c5_1 = default;
        Vector512<float> c6_0 = default; Vector512<float> c6_1 = default;
        Vector512<float> c7_0 = default; Vector512<float> c7_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            Vector512<float> a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            Vector512<float> a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            Vector512<float> a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            Vector512<float> a4 = Vector512.Create(a[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1);
            Vector512<float> a5 = Vector512.Create(a[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1);
            Vector512<float> a6 = Vector512.Create(a[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1);
            Vector512<float> a7 = Vector512.Create(a[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1);
            a += 8;
            b += 32;
        }
        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            (c0_0 * va).Store(c + 0 * ldc + 0);
            (c0_1 * va).Store(c + 0 * ldc + 16);
            (c1_0 * va).Store(c + 1 * ldc + 0);
            (c1_1 * va).Store(c + 1 * ldc + 16);
            (c2_0 * va).Store(c + 2 * ldc + 0);
            (c2_1 * va).Store(c + 2 * ldc + 16);
            (c3_0 * va).Store(c + 3 * ldc + 0);
            (c3_1 * va).Store(c + 3 * ldc + 16);
            (c4_0 * va).Store(c + 4 * ldc + 0);
            (c4_1 * va).Store(c + 4 * ldc + 16);
            (c5_0 * va).Store(c + 5 * ldc + 0);
            (c5_1 * va).Store(c + 5 * ldc + 16);
            (c6_0 * va).Store(c + 6 * ldc + 0);
            (c6_1 * va).Store(c + 6 * ldc + 16);
            (c7_0 * va).Store(c + 7 * ldc + 0);
            (c7_1 * va).Store(c + 7 * ldc + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 0 * ldc + 0), c0_0 * va).Store(c + 0 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 0 * ldc + 16), c0_1 * va).Store(c + 0 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 1 * ldc + 0), c1_0 * va).Store(c + 1 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 1 * ldc + 16), c1_1 * va).Store(c + 1 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 2 * ldc + 0), c2_0 * va).Store(c + 2 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 2 * ldc + 16), c2_1 * va).Store(c + 2 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 3 * ldc + 0), c3_0 * va).Store(c + 3 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 3 * ldc + 16), c3_1 * va).Store(c + 3 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 4 * ldc + 0), c4_0 * va).Store(c + 4 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 4 * ldc + 16), c4_1 * va).Store(c + 4 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 5 * ldc + 0), c5_0 * va).Store(c + 5 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 5 * ldc + 16), c5_1 * va).Store(c + 5 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 6 * ldc + 0), c6_0 * va).Store(c + 6 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 6 * ldc + 16), c6_1 * va).Store(c + 6 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 7 * ldc + 0), c7_0 * va).Store(c + 7 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 7 * ldc + 16), c7_1 * va).Store(c + 7 * ldc + 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run4x32(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c0_0 = default; Vector512<float> c0_1 = default;
        Vector512<float> c1_0 = default; Vector512<float> c1_1 = default;
        Vector512<float> c2_0 = default; Vector512<float> c2_1 = default;
        Vector512<float> c3_0 = default; Vector512<float> c3_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            Vector512<float> a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            Vector512<float> a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            Vector512<float> a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            a += 8;
            b += 32;
        }
        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            (c0_0 * va).Store(c + 0 * ldc + 0);
            (c0_1 * va).Store(c + 0 * ldc + 16);
            (c1_0 * va).Store(c + 1 * ldc + 0);
            (c1_1 * va).Store(c + 1 * ldc + 16);
            (c2_0 * va).Store(c + 2 * ldc + 0);
            (c2_1 * va).Store(c + 2 * ldc + 16);
            (c3_0 * va).Store(c + 3 * ldc + 0);
            (c3_1 * va).Store(c + 3 * ldc + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 0 * ldc + 0), c0_0 * va).Store(c + 0 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 0 * ldc + 16), c0_1 * va).Store(c + 0 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 1 * ldc + 0), c1_0 * va).Store(c + 1 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 1 * ldc + 16), c1_1 * va).Store(c + 1 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 2 * ldc + 0), c2_0 * va).Store(c + 2 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 2 * ldc + 16), c2_1 * va).Store(c + 2 * ldc + 16);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 3 * ldc + 0), c3_0 * va).Store(c + 3 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 3 * ldc + 16), c3_1 * va).Store(c + 3 * ldc + 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run8x16(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c0_0 = default;
        Vector512<float> c1_0 = default;
        Vector512<float> c2_0 = default;
        Vector512<float> c3_0 = default;
        Vector512<float> c4_0 = default;
        Vector512<float> c5_0 = default;
        Vector512<float> c6_0 = default;
        Vector512<float> c7_0 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            Vector512<float> a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            Vector512<float> a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            Vector512<float> a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            Vector512<float> a4 = Vector512.Create(a[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
            Vector512<float> a5 = Vector512.Create(a[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
            Vector512<float> a6 = Vector512.Create(a[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
            Vector512<float> a7 = Vector512.Create(a[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
            a += 8;
            b += 32;
        }
        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            (c0_0 * va).Store(c + 0 * ldc + 0);
            (c1_0 * va).Store(c + 1 * ldc + 0);
            (c2_0 * va).Store(c + 2 * ldc + 0);
            (c3_0 * va).Store(c + 3 * ldc + 0);
            (c4_0 * va).Store(c + 4 * ldc + 0);
            (c5_0 * va).Store(c + 5 * ldc + 0);
            (c6_0 * va).Store(c + 6 * ldc + 0);
            (c7_0 * va).Store(c + 7 * ldc + 0);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 0 * ldc + 0), c0_0 * va).Store(c + 0 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 1 * ldc + 0), c1_0 * va).Store(c + 1 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 2 * ldc + 0), c2_0 * va).Store(c + 2 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 3 * ldc + 0), c3_0 * va).Store(c + 3 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 4 * ldc + 0), c4_0 * va).Store(c + 4 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 5 * ldc + 0), c5_0 * va).Store(c + 5 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 6 * ldc + 0), c6_0 * va).Store(c + 6 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 7 * ldc + 0), c7_0 * va).Store(c + 7 * ldc + 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run4x16(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c0_0 = default;
        Vector512<float> c1_0 = default;
        Vector512<float> c2_0 = default;
        Vector512<float> c3_0 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            Vector512<float> a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            Vector512<float> a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            Vector512<float> a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            a += 8;
            b += 32;
        }
        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            (c0_0 * va).Store(c + 0 * ldc + 0);
            (c1_0 * va).Store(c + 1 * ldc + 0);
            (c2_0 * va).Store(c + 2 * ldc + 0);
            (c3_0 * va).Store(c + 3 * ldc + 0);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 0 * ldc + 0), c0_0 * va).Store(c + 0 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 1 * ldc + 0), c1_0 * va).Store(c + 1 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 2 * ldc + 0), c2_0 * va).Store(c + 2 * ldc + 0);
            Vector512.FusedMultiplyAdd(vb, Vector512.Load(c + 3 * ldc + 0), c3_0 * va).Store(c + 3 * ldc + 0);
        }
    }
}

/// <summary>6×16 tile of Vector256 FMAs (12 accumulators), the classic AVX2 shape, for hardware without AVX-512.</summary>
internal readonly struct Avx2Kernel6x16 : IGemmMicroKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    public static unsafe void RunEdge(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, int mr, int nr, float* scratch)
    {
        Run(kc, a, b, scratch, 16, alpha, 0f);
        GemmEdge.Merge(scratch, 16, c, ldc, mr, nr, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c0_0 = default; Vector256<float> c0_1 = default;
        Vector256<float> c1_0 = default; Vector256<float> c1_1 = default;
        Vector256<float> c2_0 = default; Vector256<float> c2_1 = default;
        Vector256<float> c3_0 = default; Vector256<float> c3_1 = default;
        Vector256<float> c4_0 = default; Vector256<float> c4_1 = default;
        Vector256<float> c5_0 = default; Vector256<float> c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b + 0);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> a0 = Vector256.Create(a[0]);
            c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector256.FusedMultiplyAdd(a0, b1, c0_1);
            Vector256<float> a1 = Vector256.Create(a[1]);
            c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector256.FusedMultiplyAdd(a1, b1, c1_1);
            Vector256<float> a2 = Vector256.Create(a[2]);
            c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector256.FusedMultiplyAdd(a2, b1, c2_1);
            Vector256<float> a3 = Vector256.Create(a[3]);
            c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector256.FusedMultiplyAdd(a3, b1, c3_1);
            Vector256<float> a4 = Vector256.Create(a[4]);
            c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0);
            c4_1 = Vector256.FusedMultiplyAdd(a4, b1, c4_1);
            Vector256<float> a5 = Vector256.Create(a[5]);
            c5_0 = Vector256.FusedMultiplyAdd(a5, b0, c5_0);
            c5_1 = Vector256.FusedMultiplyAdd(a5, b1, c5_1);
            a += 6;
            b += 16;
        }
        Vector256<float> va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            (c0_0 * va).Store(c + 0 * ldc + 0);
            (c0_1 * va).Store(c + 0 * ldc + 8);
            (c1_0 * va).Store(c + 1 * ldc + 0);
            (c1_1 * va).Store(c + 1 * ldc + 8);
            (c2_0 * va).Store(c + 2 * ldc + 0);
            (c2_1 * va).Store(c + 2 * ldc + 8);
            (c3_0 * va).Store(c + 3 * ldc + 0);
            (c3_1 * va).Store(c + 3 * ldc + 8);
            (c4_0 * va).Store(c + 4 * ldc + 0);
            (c4_1 * va).Store(c + 4 * ldc + 8);
            (c5_0 * va).Store(c + 5 * ldc + 0);
            (c5_1 * va).Store(c + 5 * ldc + 8);
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 0 * ldc + 0), c0_0 * va).Store(c + 0 * ldc + 0);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 0 * ldc + 8), c0_1 * va).Store(c + 0 * ldc + 8);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 1 * ldc + 0), c1_0 * va).Store(c + 1 * ldc + 0);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 1 * ldc + 8), c1_1 * va).Store(c + 1 * ldc + 8);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 2 * ldc + 0), c2_0 * va).Store(c + 2 * ldc + 0);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 2 * ldc + 8), c2_1 * va).Store(c + 2 * ldc + 8);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 3 * ldc + 0), c3_0 * va).Store(c + 3 * ldc + 0);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 3 * ldc + 8), c3_1 * va).Store(c + 3 * ldc + 8);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 4 * ldc + 0), c4_0 * va).Store(c + 4 * ldc + 0);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 4 * ldc + 8), c4_1 * va).Store(c + 4 * ldc + 8);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 5 * ldc + 0), c5_0 * va).Store(c + 5 * ldc + 0);
            Vector256.FusedMultiplyAdd(vb, Vector256.Load(c + 5 * ldc + 8), c5_1 * va).Store(c + 5 * ldc + 8);
        }
    }
}

/// <summary>
/// Portable fallback for hardware without 256-bit FMA: a 4×4 scalar tile still reuses every load four times.
/// Plain multiply-adds throughout, because <see cref="MathF.FusedMultiplyAdd"/> is emulated in software where
/// the hardware has no FMA.
/// </summary>
internal readonly struct ScalarKernel4x4 : IGemmMicroKernel
{
    public static int MR => 4;
    public static int NR => 4;
    public static bool IsSupported => true;

    public static unsafe void RunEdge(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, int mr, int nr, float* scratch)
    {
        Run(kc, a, b, scratch, 4, alpha, 0f);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++)
                c[i * ldc + j] = beta == 0f ? scratch[i * 4 + j] : beta * c[i * ldc + j] + scratch[i * 4 + j];
    }

    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
            c00 += a0 * b0; c01 += a0 * b1;
            c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1;
            c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1;
            c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1;
            c32 += a3 * b2; c33 += a3 * b3;
            a += 4;
            b += 4;
        }
        Store(c, c00, c01, c02, c03, alpha, beta);
        Store(c + ldc, c10, c11, c12, c13, alpha, beta);
        Store(c + 2 * ldc, c20, c21, c22, c23, alpha, beta);
        Store(c + 3 * ldc, c30, c31, c32, c33, alpha, beta);
    }

    private static unsafe void Store(float* c, float s0, float s1, float s2, float s3, float alpha, float beta)
    {
        if (beta == 0f)
        {
            c[0] = alpha * s0; c[1] = alpha * s1; c[2] = alpha * s2; c[3] = alpha * s3;
        }
        else
        {
            c[0] = beta * c[0] + alpha * s0;
            c[1] = beta * c[1] + alpha * s1;
            c[2] = beta * c[2] + alpha * s2;
            c[3] = beta * c[3] + alpha * s3;
        }
    }
}
