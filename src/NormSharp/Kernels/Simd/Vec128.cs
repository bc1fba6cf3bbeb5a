using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NormSharp.Kernels.Simd;

/// <summary>Four float lanes in one <see cref="Vector128{T}"/> (SSE, or NEON on ARM64).</summary>
internal readonly struct Vec128 : IFloatVector<Vec128>
{
    private readonly Vector128<float> _v;

    private Vec128(Vector128<float> v) => _v = v;

    /// <summary>Wraps a raw vector (for the wider forms' across-lane folds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vec128 Wrap(Vector128<float> v) => new(v);

    public static int Count => 4;
    public static bool IsHardwareAccelerated => Vector128.IsHardwareAccelerated;
    public static Vec128 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Create(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec128 Load(float* source) => new(Vector128.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec128 value, float* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator +(Vec128 a, Vec128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator -(Vec128 a, Vec128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator *(Vec128 a, Vec128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator /(Vec128 a, Vec128 b) => new(a._v / b._v);
    /// <summary>a·b + c with one rounding (<see cref="ExactFma"/>: the instruction, or its emulation on x86 without one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Fma(Vec128 a, Vec128 b, Vec128 c) => new(ExactFma.Vector(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Min(Vec128 a, Vec128 b) => new(Vector128.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Max(Vec128 a, Vec128 b) => new(Vector128.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Abs(Vec128 a) => new(Vector128.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Sqrt(Vec128 a) => new(Vector128.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 GreaterThan(Vec128 a, Vec128 b) => new(Vector128.GreaterThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 LessThan(Vec128 a, Vec128 b) => new(Vector128.LessThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Select(Vec128 mask, Vec128 ifSet, Vec128 ifClear) => new(Vector128.ConditionalSelect(mask._v, ifSet._v, ifClear._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 And(Vec128 a, Vec128 b) => new(a._v & b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Pow2(Vec128 n) => new(Vector128.ShiftLeft(Vector128.ConvertToInt32(n._v) + Vector128.Create(127), 23).AsSingle());

    // The last two halvings on extracted lanes: (x0 + x2) + (x1 + x3), the order every width ends with.
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float First(Vec128 value) => value._v.ToScalar();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vec128 value) => (value._v.GetElement(0) + value._v.GetElement(2)) + (value._v.GetElement(1) + value._v.GetElement(3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vec128 value) =>
        MathF.Max(MathF.Max(value._v.GetElement(0), value._v.GetElement(2)), MathF.Max(value._v.GetElement(1), value._v.GetElement(3)));
}
