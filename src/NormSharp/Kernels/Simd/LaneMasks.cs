using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// Lane masks and partial stores for loops that run on aligned vectors whose first or last one reaches past the ends
/// of a row. Such a vector is read whole (a load that stays inside one aligned vector never crosses a cache line or a
/// page, so it is safe even where it covers memory outside the row), the lanes outside the row are replaced before
/// any arithmetic, and only the lanes inside the row are written.
/// </summary>
internal static unsafe class LaneMasks
{
    /// <summary>96 floats: all bits set at positions [32, 64), clear elsewhere; read at an offset it gives any run of set lanes.</summary>
    private static readonly float* Table = CreateTable();

    private static float* CreateTable()
    {
        var table = (float*)NativeMemory.AlignedAlloc(96 * sizeof(float), 64);
        for (int i = 0; i < 96; i++) table[i] = i is >= 32 and < 64 ? BitConverter.Int32BitsToSingle(-1) : 0f;
        return table;
    }

    /// <summary>
    /// All bits set in lane j where <paramref name="lo"/> ≤ <paramref name="offset"/> + j &lt; <paramref name="hi"/>, for a
    /// vector at position <paramref name="offset"/> of a group of at most 32 positions (0 ≤ lo ≤ 32, 0 ≤ hi ≤ 32).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Between<TV>(nint offset, nint lo, nint hi) where TV : unmanaged, IFloatVector<TV> =>
        TV.And(TV.Load(Table + 32 + offset - lo), TV.Load(Table + 64 + offset - hi));

    /// <summary>Writes lanes [<paramref name="lo"/>, <paramref name="hi"/>) of <paramref name="value"/> to destination[lo..hi) and nothing else.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreLanes<TV>(TV value, float* destination, int lo, int hi) where TV : unmanaged, IFloatVector<TV>
    {
        if (TV.Count == 16 && Avx512F.IsSupported)
        {
            Avx512F.MaskStore(destination, Unsafe.BitCast<TV, Vector512<float>>(Between<TV>(0, lo, hi)), Unsafe.BitCast<TV, Vector512<float>>(value));
            return;
        }
        StoreLanesScalar(value, destination, lo, hi);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private static void StoreLanesScalar<TV>(TV value, float* destination, int lo, int hi) where TV : unmanaged, IFloatVector<TV>
    {
        float* t = stackalloc float[16];
        TV.Store(value, t);
        for (int j = lo; j < hi; j++) destination[j] = t[j];
    }

    /// <summary>
    /// The position of <paramref name="p"/> inside its aligned vector of <typeparamref name="TV"/> (in elements), or −1
    /// where aligned loops do not apply: the portable form, or a pointer that is not float-aligned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Phase<TV>(float* p) where TV : unmanaged, IFloatVector<TV>
    {
        if (typeof(TV) == typeof(VecScalar) || ((nuint)p & 3) != 0) return -1;
        return (int)(((nuint)p & (nuint)(TV.Count * sizeof(float) - 1)) >> 2);
    }
}
