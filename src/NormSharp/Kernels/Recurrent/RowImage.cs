using System.Runtime.CompilerServices;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The remainder policy of the recurrent row loops: the last, partial vector of a row is copied (for each stream, each
/// of its gate blocks) into a padded image one vector per block, run through the same vector body, and the valid part
/// of the outputs copied back. An image pointer is rebased so that element j0 + i of block k is read at
/// image + k·width + j0 + i, the body's usual addressing with a block stride of one vector.
/// </summary>
internal static unsafe class RowImage
{
    /// <summary>Floats one stream of <paramref name="blocks"/> blocks takes in an image of vectors of <paramref name="width"/> lanes.</summary>
    public static int Floats(int blocks, int width) => blocks * width;

    /// <summary>Copies elements [j0, j0 + count) of each block of <paramref name="source"/> (block stride <paramref name="stride"/>) into <paramref name="scratch"/>, zero-padded; returns the rebased image.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* In(float* source, nint stride, int blocks, nint j0, int count, float* scratch, int width)
    {
        for (int k = 0; k < blocks; k++)
        {
            float* dst = scratch + k * width;
            int i = 0;
            for (; i < count; i++) dst[i] = source[k * stride + j0 + i];
            for (; i < width; i++) dst[i] = 0f;
        }
        return scratch - j0;
    }

    /// <summary>An image for an output stream (zeroed, nothing read); returns the rebased image.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Out(int blocks, nint j0, float* scratch, int width)
    {
        new Span<float>(scratch, blocks * width).Clear();
        return scratch - j0;
    }

    /// <summary>Copies the valid part of a rebased image back into <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Back(float* image, float* destination, nint stride, int blocks, nint j0, int count, int width)
    {
        for (int k = 0; k < blocks; k++)
            for (int i = 0; i < count; i++) destination[k * stride + j0 + i] = image[k * width + j0 + i];
    }
}
