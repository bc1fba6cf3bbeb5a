using System.Runtime.CompilerServices;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// Four float lanes in plain scalar code, for machines without SIMD (or with it switched off). Four lanes rather
/// than one so that the kernels' fixed 32-lane summation layout needs no more accumulators than at 128 bits.
/// Multiply-adds are correctly rounded (<see cref="ExactFma"/>: the processor's instruction, or its emulation without one), so this
/// form gives the same bits as the hardware widths.
/// </summary>
internal readonly struct VecScalar : IFloatVector<VecScalar>
{
    private readonly float _x0, _x1, _x2, _x3;

    private VecScalar(float x0, float x1, float x2, float x3)
    {
        _x0 = x0;
        _x1 = x1;
        _x2 = x2;
        _x3 = x3;
    }

    private static readonly float AllBits = BitConverter.Int32BitsToSingle(-1);

    public static int Count => 4;
    public static bool IsHardwareAccelerated => true;
    public static VecScalar Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar Create(float value) => new(value, value, value, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe VecScalar Load(float* s) => new(s[0], s[1], s[2], s[3]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(VecScalar v, float* d)
    {
        d[0] = v._x0;
        d[1] = v._x1;
        d[2] = v._x2;
        d[3] = v._x3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar operator +(VecScalar a, VecScalar b) => new(a._x0 + b._x0, a._x1 + b._x1, a._x2 + b._x2, a._x3 + b._x3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar operator -(VecScalar a, VecScalar b) => new(a._x0 - b._x0, a._x1 - b._x1, a._x2 - b._x2, a._x3 - b._x3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar operator *(VecScalar a, VecScalar b) => new(a._x0 * b._x0, a._x1 * b._x1, a._x2 * b._x2, a._x3 * b._x3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar operator /(VecScalar a, VecScalar b) => new(a._x0 / b._x0, a._x1 / b._x1, a._x2 / b._x2, a._x3 / b._x3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecScalar Fma(VecScalar a, VecScalar b, VecScalar c) => new(ExactFma.Scalar(a._x0, b._x0, c._x0), ExactFma.Scalar(a._x1, b._x1, c._x1),
        ExactFma.Scalar(a._x2, b._x2, c._x2), ExactFma.Scalar(a._x3, b._x3, c._x3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar Min(VecScalar a, VecScalar b) => new(MathF.Min(a._x0, b._x0), MathF.Min(a._x1, b._x1), MathF.Min(a._x2, b._x2), MathF.Min(a._x3, b._x3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar Max(VecScalar a, VecScalar b) => new(MathF.Max(a._x0, b._x0), MathF.Max(a._x1, b._x1), MathF.Max(a._x2, b._x2), MathF.Max(a._x3, b._x3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar Abs(VecScalar a) => new(MathF.Abs(a._x0), MathF.Abs(a._x1), MathF.Abs(a._x2), MathF.Abs(a._x3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static VecScalar Sqrt(VecScalar a) => new(MathF.Sqrt(a._x0), MathF.Sqrt(a._x1), MathF.Sqrt(a._x2), MathF.Sqrt(a._x3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecScalar GreaterThan(VecScalar a, VecScalar b) => new(Mask(a._x0 > b._x0), Mask(a._x1 > b._x1), Mask(a._x2 > b._x2), Mask(a._x3 > b._x3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecScalar LessThan(VecScalar a, VecScalar b) => new(Mask(a._x0 < b._x0), Mask(a._x1 < b._x1), Mask(a._x2 < b._x2), Mask(a._x3 < b._x3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecScalar Select(VecScalar m, VecScalar s, VecScalar c) => new(
        Bits((Int(m._x0) & Int(s._x0)) | (~Int(m._x0) & Int(c._x0))), Bits((Int(m._x1) & Int(s._x1)) | (~Int(m._x1) & Int(c._x1))),
        Bits((Int(m._x2) & Int(s._x2)) | (~Int(m._x2) & Int(c._x2))), Bits((Int(m._x3) & Int(s._x3)) | (~Int(m._x3) & Int(c._x3))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecScalar And(VecScalar a, VecScalar b) => new(
        Bits(Int(a._x0) & Int(b._x0)), Bits(Int(a._x1) & Int(b._x1)), Bits(Int(a._x2) & Int(b._x2)), Bits(Int(a._x3) & Int(b._x3)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VecScalar Pow2(VecScalar n) => new(Exp2(n._x0), Exp2(n._x1), Exp2(n._x2), Exp2(n._x3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float First(VecScalar v) => v._x0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(VecScalar v) => (v._x0 + v._x2) + (v._x1 + v._x3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(VecScalar v) => MathF.Max(MathF.Max(v._x0, v._x2), MathF.Max(v._x1, v._x3));

    private static float Mask(bool set) => set ? AllBits : 0f;

    private static int Int(float f) => BitConverter.SingleToInt32Bits(f);

    private static float Bits(int i) => BitConverter.Int32BitsToSingle(i);

    private static float Exp2(float n) => BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
}
