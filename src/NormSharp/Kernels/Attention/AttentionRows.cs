using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Attention;

/// <summary>
/// The row operations of the streaming softmax over whole 64-wide score blocks, written once for every vector width.
/// Every exponential of the attention kernels is taken in <see cref="Exp{TV}"/> with the library's own
/// <see cref="FloatMath{TV}.Exp"/>, and sums run over 16 fixed lanes folded in a fixed order, so every width (and
/// every CPU) gives the same bits.
/// </summary>
internal static unsafe class AttentionRows
{
    private const int Width = AttentionBlocks.Width;

    /// <summary>x[i] = e^x[i] for <paramref name="count"/> values, a multiple of the vector length (−∞ gives 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Exp<TV>(float* x, int count) where TV : unmanaged, IFloatVector<TV>
    {
        for (int i = 0; i < count; i += TV.Count) TV.Store(FloatMath<TV>.Exp(TV.Load(x + i)), x + i);
    }

    /// <summary>Sets entries [from, 64) of a block row to −∞ (positions a mask hides, or past the block's keys).</summary>
    public static void Hide(float* row, int from)
    {
        for (int c = from; c < Width; c++) row[c] = float.NegativeInfinity;
    }

    /// <summary>Largest of a block row's 64 entries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Max<TV>(float* row) where TV : unmanaged, IFloatVector<TV>
    {
        var m = TV.Load(row);
        for (int c = TV.Count; c < Width; c += TV.Count) m = TV.Max(m, TV.Load(row + c));
        return TV.MaxAcross(m);
    }

    /// <summary>row[c] −= shift for a block row's 64 entries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Subtract<TV>(float* row, float shift) where TV : unmanaged, IFloatVector<TV>
    {
        var s = TV.Create(shift);
        for (int c = 0; c < Width; c += TV.Count) TV.Store(TV.Load(row + c) - s, row + c);
    }

    /// <summary>row[c] *= factor for the first <paramref name="count"/> entries (a multiple of the vector length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale<TV>(float* row, int count, float factor) where TV : unmanaged, IFloatVector<TV>
    {
        var f = TV.Create(factor);
        for (int c = 0; c < count; c += TV.Count) TV.Store(TV.Load(row + c) * f, row + c);
    }

    /// <summary>
    /// Σ of a block row's 64 entries in a fixed order at every width: entry c goes to lane c mod 16 (in order of c),
    /// then the 16 lanes are folded halves onto halves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum<TV>(float* row) where TV : unmanaged, IFloatVector<TV>
    {
        float* lanes = stackalloc float[16];
        for (int g = 0; g < 16; g += TV.Count)
        {
            var acc = TV.Load(row + g);
            for (int c = 16; c < Width; c += 16) acc += TV.Load(row + c + g);
            TV.Store(acc, lanes + g);
        }
        for (int half = 8; half > 0; half >>= 1)
            for (int l = 0; l < half; l++) lanes[l] += lanes[l + half];
        return lanes[0];
    }

    /// <summary>ds[c] = p[c]·(ds[c] − d) over a block row: the softmax backward, with d = Σ dO·O of that query.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxGradient<TV>(float* p, float* ds, float d) where TV : unmanaged, IFloatVector<TV>
    {
        var dv = TV.Create(d);
        for (int c = 0; c < Width; c += TV.Count) TV.Store(TV.Load(p + c) * (TV.Load(ds + c) - dv), ds + c);
    }

    /// <summary>Σ a[i]·b[i] over <paramref name="count"/> values, in order.</summary>
    public static float Dot(float* a, float* b, int count)
    {
        float s = 0f;
        for (int i = 0; i < count; i++) s = ExactFma.Scalar(a[i], b[i], s);
        return s;
    }

    /// <summary>
    /// dst[c] = src[c]·keepScale where the weight of key <paramref name="key0"/> + c in the query row starting at flat
    /// position <paramref name="rowIndex"/> is kept, 0 where it is dropped: a function of the seed and the position only.
    /// </summary>
    public static void ApplyDropout(float* src, float* dst, int count, ulong seed, long rowIndex, int key0, float p, float keepScale)
    {
        for (int c = 0; c < count; c++)
            dst[c] = Keeps(seed, rowIndex + key0 + c, p) ? src[c] * keepScale : 0f;
    }

    /// <summary>Whether the attention weight at flat position <paramref name="index"/> survives dropout of rate <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Keeps(ulong seed, long index, float p)
    {
        // SplitMix64's finalizer over the seeded position: a counter-based draw, uniform on [0, 1) from 24 bits.
        ulong z = seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (1f / (1 << 24)) >= p;
    }
}
