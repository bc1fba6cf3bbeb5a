using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// Software prefetch of data a loop will read soon, for the row kernels: while a row is finished from cache, the
/// next row is requested from memory, so the pass that starts on it does not stall on every cache line. A hint
/// only: it never changes a result, and where the instruction set has none it does nothing.
/// </summary>
internal static unsafe class Prefetch
{
    /// <summary>Asks for the cache line holding <paramref name="address"/> to be brought into all cache levels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Read(float* address)
    {
        if (Sse.IsSupported) Sse.Prefetch0(address);
    }
}
