using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NormSharp.Kernels;

/// <summary>
/// Per-thread packing space for GEMM. Each thread (the caller and every pool worker) keeps one pinned buffer
/// that only grows, so a training loop that repeats the same shapes allocates nothing after its first step,
/// and threads never share packed panels, so there is nothing to synchronize.
/// </summary>
internal static unsafe class GemmScratch
{
    private const int Alignment = 64;

    [ThreadStatic] private static float[]? _buffer;

    /// <summary>A 64-byte-aligned region of at least <paramref name="floats"/> floats, valid until this thread's next call.</summary>
    public static float* Get(long floats)
    {
        var buf = _buffer;
        if (buf is null || buf.Length - Alignment / sizeof(float) < floats)
        {
            long needed = floats + Alignment / sizeof(float);
            if (needed > Array.MaxLength)
                throw new OutOfMemoryException($"Gemm: packing space of {floats} floats exceeds the largest array.");
            // Grow by half again at least, so that a slowly increasing size does not reallocate every call.
            long size = Math.Min(Array.MaxLength, Math.Max(needed, buf is null ? 0 : buf.Length + buf.Length / 2L));
            // Pinned so that the pointer handed out stays valid without a fixed block around every kernel call.
            buf = GC.AllocateUninitializedArray<float>((int)size, pinned: true);
            _buffer = buf;
        }
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buf));
        nuint aligned = (address + Alignment - 1) & ~(nuint)(Alignment - 1);
        return (float*)aligned;
    }
}
