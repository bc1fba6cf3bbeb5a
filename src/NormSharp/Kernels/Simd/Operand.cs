using System.Runtime.CompilerServices;

namespace NormSharp.Kernels.Simd;

/// <summary>An input of a loop that is either a stream of floats or one value for every element.</summary>
internal unsafe interface IOperand<TSelf, TV>
    where TSelf : struct, IOperand<TSelf, TV>
    where TV : unmanaged, IFloatVector<TV>
{
    /// <summary>The vector at element index i.</summary>
    TV Load(nint i);

    /// <summary>
    /// The same operand over a copy of elements [start, start + count) padded with <paramref name="pad"/> up to
    /// <paramref name="length"/>; index start + j reads position j of the copy in <paramref name="scratch"/>.
    /// </summary>
    TSelf Padded(nint start, int count, float* scratch, int length, float pad);
}

/// <summary>An <see cref="IOperand{TSelf, TV}"/> read from memory.</summary>
internal readonly unsafe struct Stream<TV>(float* pointer) : IOperand<Stream<TV>, TV> where TV : unmanaged, IFloatVector<TV>
{
    /// <summary>The first element.</summary>
    public float* Pointer { get; } = pointer;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Load(nint i) => TV.Load(Pointer + i);

    public Stream<TV> Padded(nint start, int count, float* scratch, int length, float pad) =>
        new(Padding.Copy(Pointer, start, count, scratch, length, pad));
}

/// <summary>An <see cref="IOperand{TSelf, TV}"/> with one value for every element.</summary>
internal readonly unsafe struct Constant<TV>(TV value) : IOperand<Constant<TV>, TV> where TV : unmanaged, IFloatVector<TV>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Load(nint i) => value;

    public Constant<TV> Padded(nint start, int count, float* scratch, int length, float pad) => this;
}

/// <summary>The one remainder policy: a partial vector or lane group is copied into scratch and padded, then run through the same code as whole ones.</summary>
internal static unsafe class Padding
{
    /// <summary>Copies source[start..start + count) to scratch, pads it with <paramref name="pad"/> to <paramref name="length"/>, and returns scratch − start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Copy(float* source, nint start, int count, float* scratch, int length, float pad)
    {
        int j = 0;
        for (; j < count; j++) scratch[j] = source[start + j];
        for (; j < length; j++) scratch[j] = pad;
        return scratch - start;
    }
}
