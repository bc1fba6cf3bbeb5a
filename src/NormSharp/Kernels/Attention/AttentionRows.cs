using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace NormSharp.Kernels.Attention;

/// <summary>
/// The row operations of the streaming softmax: every exponential of the attention kernels is taken here, so the
/// kernels change their exponential in one place.
/// </summary>
internal static unsafe class AttentionRows
{
    /// <summary>row[i] = exp(row[i] − shift) for the first <paramref name="count"/> entries.</summary>
    public static void ExpShifted(float* row, int count, float shift)
    {
        var span = new Span<float>(row, count);
        TensorPrimitives.Subtract(span, shift, span);
        TensorPrimitives.Exp(span, span);
    }

    /// <summary>e^x for a single value, by the same routine as the rows.</summary>
    public static float Exp(float x)
    {
        float v = x;
        var span = new Span<float>(&v, 1);
        TensorPrimitives.Exp(span, span);
        return v;
    }

    /// <summary>Largest of the first <paramref name="count"/> entries.</summary>
    public static float Max(float* row, int count) => TensorPrimitives.Max(new ReadOnlySpan<float>(row, count));

    /// <summary>Sum of the first <paramref name="count"/> entries.</summary>
    public static float Sum(float* row, int count) => TensorPrimitives.Sum(new ReadOnlySpan<float>(row, count));

    /// <summary>Σ a[i]·b[i].</summary>
    public static float Dot(float* a, float* b, int count) => TensorPrimitives.Dot(new ReadOnlySpan<float>(a, count), new ReadOnlySpan<float>(b, count));

    /// <summary>row[i] *= factor.</summary>
    public static void Scale(float* row, int count, float factor)
    {
        var span = new Span<float>(row, count);
        TensorPrimitives.Multiply(span, factor, span);
    }

    /// <summary>ds[i] = p[i]·(ds[i] − d): the softmax backward of one row, with d = Σ dO·O of that query.</summary>
    public static void SoftmaxGradient(float* p, float* ds, int count, float d)
    {
        var g = new Span<float>(ds, count);
        TensorPrimitives.Subtract(g, d, g);
        TensorPrimitives.Multiply(g, new ReadOnlySpan<float>(p, count), g);
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
