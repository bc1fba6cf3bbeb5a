using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NormSharp.Kernels.Simd;

/// <summary>Sixteen float lanes in one <see cref="Vector512{T}"/> (AVX-512).</summary>
internal readonly struct Vec512 : IFloatVector<Vec512>
{
    private readonly Vector512<float> _v;

    private Vec512(Vector512<float> v) => _v = v;

    public static int Count => 16;
    public static bool IsHardwareAccelerated => Vector512.IsHardwareAccelerated;
    public static Vec512 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vec512 Load(float* source) => new(Vector512.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vec512 value, float* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator +(Vec512 a, Vec512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator -(Vec512 a, Vec512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator *(Vec512 a, Vec512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator /(Vec512 a, Vec512 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Fma(Vec512 a, Vec512 b, Vec512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Min(Vec512 a, Vec512 b) => new(Vector512.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Max(Vec512 a, Vec512 b) => new(Vector512.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Abs(Vec512 a) => new(Vector512.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Sqrt(Vec512 a) => new(Vector512.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 GreaterThan(Vec512 a, Vec512 b) => new(Vector512.GreaterThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 LessThan(Vec512 a, Vec512 b) => new(Vector512.LessThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Select(Vec512 mask, Vec512 ifSet, Vec512 ifClear) => new(Vector512.ConditionalSelect(mask._v, ifSet._v, ifClear._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 And(Vec512 a, Vec512 b) => new(a._v & b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Pow2(Vec512 n) => new(Vector512.ShiftLeft(Vector512.ConvertToInt32(n._v) + Vector512.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float First(Vec512 value) => value._v.ToScalar();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vec512 value) => Vec256.Sum(Vec256.Wrap(value._v.GetLower() + value._v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vec512 value) => Vec256.MaxAcross(Vec256.Wrap(Vector256.Max(value._v.GetLower(), value._v.GetUpper())));
}
