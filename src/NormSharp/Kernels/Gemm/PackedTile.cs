using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels;

/// <summary>
/// The register-blocked GEMM micro-kernel, written once for every width: an MR-row sliver of packed A times a
/// 2-vector-wide sliver of packed B over kc steps, the whole MR×NR tile in registers, then C = alpha·acc + beta·C
/// (alpha·acc alone when beta is 0, so old contents of C, NaN included, are never read). Each element of the tile
/// is one fused multiply-add chain over k in order, so its value does not depend on the width; MR and NR only
/// decide how many chains run side by side (8×32 at 512 bits: 16 accumulators of 32 registers; 6×16 at 256 bits
/// and 6×8 at 128: 12 of 16).
/// </summary>
internal static unsafe class PackedTile<TV> where TV : unmanaged, IFloatVector<TV>
{
    /// <summary>Rows of the register tile.</summary>
    public static int MR
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => TV.Count == 16 ? 8 : 6;
    }

    /// <summary>Columns of the register tile: two vectors.</summary>
    public static int NR
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => 2 * TV.Count;
    }

    /// <summary>The top-left mr×nr part of a tile at the matrix edge: the full tile is computed into <paramref name="scratch"/> (MR×NR floats) and merged.</summary>
    public static void RunEdge(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, int mr, int nr, float* scratch)
    {
        Run(kc, a, b, scratch, NR, alpha, 0f);
        for (int i = 0; i < mr; i++)
        {
            float* t = scratch + i * NR, ci = c + i * ldc;
            // The same rounding as the full tile's store: one fused multiply-add of beta·C onto alpha·acc.
            if (beta == 0f)
                for (int j = 0; j < nr; j++) ci[j] = t[j];
            else
                for (int j = 0; j < nr; j++) ci[j] = ExactFma.Scalar(beta, ci[j], t[j]);
        }
    }

    /// <summary>One full MR×NR tile of C at <paramref name="c"/> (row stride <paramref name="ldc"/>).</summary>
    /// <remarks>
    /// Compiled on its own, fully optimized, and never inlined: inlined into a caller that tiered compilation
    /// recompiles with profile data, the accumulators lost their registers and the loop ran at less than half speed.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        // MR spelled out rather than read from the property: the JIT keeps it a constant here and folds the row tests.
        int w = TV.Count, mr = w == 16 ? 8 : 6;
        TV c00 = TV.Zero, c01 = TV.Zero, c10 = TV.Zero, c11 = TV.Zero, c20 = TV.Zero, c21 = TV.Zero, c30 = TV.Zero, c31 = TV.Zero;
        TV c40 = TV.Zero, c41 = TV.Zero, c50 = TV.Zero, c51 = TV.Zero, c60 = TV.Zero, c61 = TV.Zero, c70 = TV.Zero, c71 = TV.Zero;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TV.Load(b), b1 = TV.Load(b + w);
            TV ai = TV.Create(a[0]);
            c00 = TV.Fma(ai, b0, c00);
            c01 = TV.Fma(ai, b1, c01);
            ai = TV.Create(a[1]);
            c10 = TV.Fma(ai, b0, c10);
            c11 = TV.Fma(ai, b1, c11);
            ai = TV.Create(a[2]);
            c20 = TV.Fma(ai, b0, c20);
            c21 = TV.Fma(ai, b1, c21);
            ai = TV.Create(a[3]);
            c30 = TV.Fma(ai, b0, c30);
            c31 = TV.Fma(ai, b1, c31);
            ai = TV.Create(a[4]);
            c40 = TV.Fma(ai, b0, c40);
            c41 = TV.Fma(ai, b1, c41);
            ai = TV.Create(a[5]);
            c50 = TV.Fma(ai, b0, c50);
            c51 = TV.Fma(ai, b1, c51);
            if (mr > 6)
            {
                ai = TV.Create(a[6]);
                c60 = TV.Fma(ai, b0, c60);
                c61 = TV.Fma(ai, b1, c61);
                ai = TV.Create(a[7]);
                c70 = TV.Fma(ai, b0, c70);
                c71 = TV.Fma(ai, b1, c71);
            }
            a += mr;
            b += 2 * w;
        }
        TV va = TV.Create(alpha), vb = TV.Create(beta);
        bool keep = beta != 0f;
        StoreRow(c00, c01, c, va, vb, keep);
        StoreRow(c10, c11, c + ldc, va, vb, keep);
        StoreRow(c20, c21, c + 2 * ldc, va, vb, keep);
        StoreRow(c30, c31, c + 3 * ldc, va, vb, keep);
        StoreRow(c40, c41, c + 4 * ldc, va, vb, keep);
        StoreRow(c50, c51, c + 5 * ldc, va, vb, keep);
        if (mr > 6)
        {
            StoreRow(c60, c61, c + 6 * ldc, va, vb, keep);
            StoreRow(c70, c71, c + 7 * ldc, va, vb, keep);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(TV s0, TV s1, float* c, TV alpha, TV beta, bool keep)
    {
        TV r0 = s0 * alpha, r1 = s1 * alpha;
        if (keep)
        {
            r0 = TV.Fma(beta, TV.Load(c), r0);
            r1 = TV.Fma(beta, TV.Load(c + TV.Count), r1);
        }
        TV.Store(r0, c);
        TV.Store(r1, c + TV.Count);
    }
}
