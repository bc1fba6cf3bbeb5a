using System.Runtime.Intrinsics;

namespace NormSharp.Kernels.Simd;

/// <summary>The vector widths the kernels are instantiated for.</summary>
internal enum VectorWidth
{
    /// <summary>Four lanes emulated in scalar code (<see cref="VecScalar"/>).</summary>
    Scalar,
    /// <summary><see cref="Vec128"/>.</summary>
    Bits128,
    /// <summary><see cref="Vec256"/>.</summary>
    Bits256,
    /// <summary><see cref="Vec512"/>.</summary>
    Bits512,
}

/// <summary>A loop written once against <see cref="IFloatVector{TSelf}"/>, run at the width <see cref="Widths"/> picks.</summary>
internal interface IWidthGeneric
{
    /// <summary>Runs the work with vectors of type <typeparamref name="TV"/>.</summary>
    void Run<TV>() where TV : unmanaged, IFloatVector<TV>;
}

/// <summary>
/// Picks the widest width the hardware accelerates (checking each <c>VectorNNN.IsHardwareAccelerated</c>), unless a
/// test has forced a narrower one on the calling thread. Since every width gives the same bits, the choice only
/// changes the speed; tests use <see cref="Force"/> to run every width on one machine and compare.
/// </summary>
internal static class Widths
{
    [ThreadStatic] private static VectorWidth? _forced;

    /// <summary>The widest width accelerated on this machine.</summary>
    public static VectorWidth Widest { get; } = Pick();

    private static VectorWidth Pick()
    {
        // The multiply-add mode is settled before any kernel is compiled (every kernel is dispatched through here), so
        // the compiler sees it as a constant and keeps the branch out of the kernels' loops.
        _ = ExactFma.Mode;
        return Vector512.IsHardwareAccelerated ? VectorWidth.Bits512
            : Vector256.IsHardwareAccelerated ? VectorWidth.Bits256
            : Vector128.IsHardwareAccelerated ? VectorWidth.Bits128
            : VectorWidth.Scalar;
    }

    /// <summary>The width kernels dispatched from this thread use.</summary>
    public static VectorWidth Active => _forced ?? Widest;

    /// <summary>Whether <paramref name="width"/> can run here (hardware widths only when accelerated).</summary>
    public static bool IsAvailable(VectorWidth width) => width <= Widest;

    /// <summary>Makes kernels dispatched from this thread use <paramref name="width"/> until the result is disposed.</summary>
    public static IDisposable Force(VectorWidth width)
    {
        if (!IsAvailable(width))
            throw new InvalidOperationException($"{width} vectors are not accelerated on this machine (widest: {Widest}).");
        var previous = _forced;
        _forced = width;
        return new Restore(previous);
    }

    /// <summary>Runs <paramref name="work"/> at the active width.</summary>
    public static void Dispatch<TWork>(ref TWork work) where TWork : struct, IWidthGeneric => Dispatch(Active, ref work);

    /// <summary>Runs <paramref name="work"/> at <paramref name="width"/>.</summary>
    public static void Dispatch<TWork>(VectorWidth width, ref TWork work) where TWork : struct, IWidthGeneric
    {
        switch (width)
        {
            case VectorWidth.Bits512: work.Run<Vec512>(); break;
            case VectorWidth.Bits256: work.Run<Vec256>(); break;
            case VectorWidth.Bits128: work.Run<Vec128>(); break;
            default: work.Run<VecScalar>(); break;
        }
    }

    private sealed class Restore(VectorWidth? previous) : IDisposable
    {
        public void Dispose() => _forced = previous;
    }
}
