using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NormSharp.Kernels.Attention;

/// <summary>
/// The few vector primitives the attention block products need, implemented once per width (512, 256 and
/// 128 bits, and a portable four-lane form), so the products are written once. Multiply-adds are always fused,
/// so every width gives the same bits.
/// </summary>
internal interface IBlockVector<TSelf> where TSelf : unmanaged, IBlockVector<TSelf>
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Every lane zero.</summary>
    static abstract TSelf Zero { get; }

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary>Reads <see cref="Count"/> floats.</summary>
    static abstract unsafe TSelf Load(float* source);

    /// <summary>Writes <see cref="Count"/> floats.</summary>
    static abstract unsafe void Store(TSelf value, float* destination);

    /// <summary>a·b + c, rounded once.</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);

    /// <summary>Lane-wise product.</summary>
    static abstract TSelf Multiply(TSelf a, TSelf b);

    /// <summary>Lane-wise sum.</summary>
    static abstract TSelf Add(TSelf a, TSelf b);

    /// <summary>Lane-wise difference.</summary>
    static abstract TSelf Subtract(TSelf a, TSelf b);

    /// <summary>Lane-wise IEEE maximum (NaN if either is NaN).</summary>
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>The largest lane.</summary>
    static abstract float MaxAcross(TSelf a);
}

internal readonly struct BlockVec512 : IBlockVector<BlockVec512>
{
    private readonly Vector512<float> _v;
    private BlockVec512(Vector512<float> v) => _v = v;
    public static int Count => 16;
    public static BlockVec512 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec512 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe BlockVec512 Load(float* source) => new(Vector512.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(BlockVec512 value, float* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec512 Fma(BlockVec512 a, BlockVec512 b, BlockVec512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec512 Multiply(BlockVec512 a, BlockVec512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec512 Add(BlockVec512 a, BlockVec512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec512 Subtract(BlockVec512 a, BlockVec512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec512 Max(BlockVec512 a, BlockVec512 b) => new(Vector512.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(BlockVec512 a) => Fold.Max(Vector256.Max(a._v.GetLower(), a._v.GetUpper()));
}

internal readonly struct BlockVec256 : IBlockVector<BlockVec256>
{
    private readonly Vector256<float> _v;
    private BlockVec256(Vector256<float> v) => _v = v;
    public static int Count => 8;
    public static BlockVec256 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec256 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe BlockVec256 Load(float* source) => new(Vector256.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(BlockVec256 value, float* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec256 Fma(BlockVec256 a, BlockVec256 b, BlockVec256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec256 Multiply(BlockVec256 a, BlockVec256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec256 Add(BlockVec256 a, BlockVec256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec256 Subtract(BlockVec256 a, BlockVec256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec256 Max(BlockVec256 a, BlockVec256 b) => new(Vector256.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(BlockVec256 a) => Fold.Max(a._v);
}

internal readonly struct BlockVec128 : IBlockVector<BlockVec128>
{
    private readonly Vector128<float> _v;
    private BlockVec128(Vector128<float> v) => _v = v;
    public static int Count => 4;
    public static BlockVec128 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec128 Create(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe BlockVec128 Load(float* source) => new(Vector128.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(BlockVec128 value, float* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec128 Fma(BlockVec128 a, BlockVec128 b, BlockVec128 c) => new(Vector128.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec128 Multiply(BlockVec128 a, BlockVec128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec128 Add(BlockVec128 a, BlockVec128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec128 Subtract(BlockVec128 a, BlockVec128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static BlockVec128 Max(BlockVec128 a, BlockVec128 b) => new(Vector128.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(BlockVec128 a) => Fold.Max(a._v);
}

/// <summary>Four lanes in plain scalar code, for machines without vector instructions (and to check the others).</summary>
internal readonly struct BlockVecScalar : IBlockVector<BlockVecScalar>
{
    private readonly float _a, _b, _c, _d;
    private BlockVecScalar(float a, float b, float c, float d) => (_a, _b, _c, _d) = (a, b, c, d);
    public static int Count => 4;
    public static BlockVecScalar Zero => default;
    public static BlockVecScalar Create(float value) => new(value, value, value, value);
    public static unsafe BlockVecScalar Load(float* s) => new(s[0], s[1], s[2], s[3]);
    public static unsafe void Store(BlockVecScalar v, float* d) => (d[0], d[1], d[2], d[3]) = (v._a, v._b, v._c, v._d);
    public static BlockVecScalar Fma(BlockVecScalar a, BlockVecScalar b, BlockVecScalar c) =>
        new(MathF.FusedMultiplyAdd(a._a, b._a, c._a), MathF.FusedMultiplyAdd(a._b, b._b, c._b), MathF.FusedMultiplyAdd(a._c, b._c, c._c), MathF.FusedMultiplyAdd(a._d, b._d, c._d));
    public static BlockVecScalar Multiply(BlockVecScalar a, BlockVecScalar b) => new(a._a * b._a, a._b * b._b, a._c * b._c, a._d * b._d);
    public static BlockVecScalar Add(BlockVecScalar a, BlockVecScalar b) => new(a._a + b._a, a._b + b._b, a._c + b._c, a._d + b._d);
    public static BlockVecScalar Subtract(BlockVecScalar a, BlockVecScalar b) => new(a._a - b._a, a._b - b._b, a._c - b._c, a._d - b._d);
    public static BlockVecScalar Max(BlockVecScalar a, BlockVecScalar b) => new(MathF.Max(a._a, b._a), MathF.Max(a._b, b._b), MathF.Max(a._c, b._c), MathF.Max(a._d, b._d));
    public static float MaxAcross(BlockVecScalar a) => MathF.Max(MathF.Max(a._a, a._b), MathF.Max(a._c, a._d));
}

/// <summary>Across-lane maxima by halving (constant lane indices only, which compile to register moves).</summary>
internal static class Fold
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(Vector256<float> v) => Max(Vector128.Max(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(Vector128<float> v) =>
        MathF.Max(MathF.Max(v.GetElement(0), v.GetElement(1)), MathF.Max(v.GetElement(2), v.GetElement(3)));
}

/// <summary>The vector widths the attention kernels run at.</summary>
internal enum BlockWidth
{
    /// <summary>Four lanes emulated in scalar code.</summary>
    Scalar,
    /// <summary>128-bit vectors.</summary>
    Bits128,
    /// <summary>256-bit vectors.</summary>
    Bits256,
    /// <summary>512-bit vectors.</summary>
    Bits512,
}

internal static class BlockWidths
{
    /// <summary>The widest width the hardware accelerates here.</summary>
    public static BlockWidth Widest { get; } =
        Vector512.IsHardwareAccelerated ? BlockWidth.Bits512
        : Vector256.IsHardwareAccelerated ? BlockWidth.Bits256
        : Vector128.IsHardwareAccelerated ? BlockWidth.Bits128
        : BlockWidth.Scalar;

    /// <summary>Lanes per vector at <paramref name="width"/>.</summary>
    public static int Lanes(BlockWidth width) => width switch
    {
        BlockWidth.Bits512 => 16,
        BlockWidth.Bits256 => 8,
        _ => 4,
    };
}
