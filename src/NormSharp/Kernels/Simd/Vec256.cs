using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NormSharp.Kernels.Simd;

/// <summary>Eight float lanes in one <see cref="Vector256{T}"/> (AVX2).</summary>
internal readonly struct Vec256 : IFloatVector<Vec256>
{
    private readonly Vector256<float> _v;

    private Vec256(Vector256<float> v) => _v = v;

    /// <summary>Wraps a raw vector (for the wider form's across-lane folds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vec256 Wrap(Vector256<float> v) => new(v);

    public static int Count => 8;
    public static bool IsHardwareAccelerated => Vector256.IsHardwareAccelerated;
    public static Vec256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec256 Load(float* source) => new(Vector256.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec256 value, float* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator +(Vec256 a, Vec256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator -(Vec256 a, Vec256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator *(Vec256 a, Vec256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator /(Vec256 a, Vec256 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Fma(Vec256 a, Vec256 b, Vec256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Min(Vec256 a, Vec256 b) => new(Vector256.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Max(Vec256 a, Vec256 b) => new(Vector256.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Abs(Vec256 a) => new(Vector256.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Sqrt(Vec256 a) => new(Vector256.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 GreaterThan(Vec256 a, Vec256 b) => new(Vector256.GreaterThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 LessThan(Vec256 a, Vec256 b) => new(Vector256.LessThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Select(Vec256 mask, Vec256 ifSet, Vec256 ifClear) => new(Vector256.ConditionalSelect(mask._v, ifSet._v, ifClear._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 And(Vec256 a, Vec256 b) => new(a._v & b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Pow2(Vec256 n) => new(Vector256.ShiftLeft(Vector256.ConvertToInt32(n._v) + Vector256.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float First(Vec256 value) => value._v.ToScalar();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vec256 value) => Vec128.Sum(Vec128.Wrap(value._v.GetLower() + value._v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vec256 value) => Vec128.MaxAcross(Vec128.Wrap(Vector128.Max(value._v.GetLower(), value._v.GetUpper())));
}
