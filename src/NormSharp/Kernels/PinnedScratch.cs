using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NormSharp.Kernels;

/// <summary>
/// The one mechanism behind the kernels' working memory: a pinned buffer per thread and purpose that only grows, so a
/// training loop repeating its shapes allocates nothing after its first step, handed out 64-byte aligned (pinned, so
/// the pointer stays valid without a fixed block around every kernel call).
/// </summary>
internal static unsafe class PinnedScratch
{
    private const int Alignment = 64;

    /// <summary>
    /// At least <paramref name="floats"/> floats of <paramref name="buffer"/> (a thread-static field of the caller),
    /// 64-byte aligned, contents undefined, valid until that buffer's next use. A buffer that must grow grows by half
    /// again at least, so a slowly increasing size does not reallocate every call.
    /// </summary>
    /// <param name="buffer">The caller's thread-static buffer, replaced when it must grow.</param>
    /// <param name="floats">Floats needed.</param>
    /// <param name="owner">Names the kernels in the error when the size exceeds the largest array.</param>
    public static float* Aligned(ref float[]? buffer, long floats, string owner)
    {
        var buf = buffer;
        if (buf is null || buf.Length - Alignment / sizeof(float) < floats)
        {
            long needed = floats + Alignment / sizeof(float);
            if (needed > Array.MaxLength)
                throw new OutOfMemoryException($"{owner}: working space of {floats} floats exceeds the largest array.");
            long size = Math.Min(Array.MaxLength, Math.Max(needed, buf is null ? 0 : buf.Length + buf.Length / 2L));
            buffer = buf = GC.AllocateUninitializedArray<float>((int)size, pinned: true);
        }
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buf));
        return (float*)((address + Alignment - 1) & ~(nuint)(Alignment - 1));
    }
}
