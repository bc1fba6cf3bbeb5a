using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// A correctly rounded float a·b + c everywhere: the processor's fused multiply-add where it has one, else an
/// emulation for processors without the unit (x86 before AVX2, or with it
/// switched off, and x86 code translated on ARM), where .NET falls back to a library call per element, tens of
/// times slower than the rest of a kernel. The product of two floats is exact in double; their sum with c is
/// rounded to double with the rounding direction made "to odd" (Boldo and Melquiond: the inexact result's last bit is
/// forced to 1), and that double, whose precision exceeds the float's by more than two bits, rounds to the float
/// nearest the exact a·b + c. So the result has the same bits as the hardware instruction for all finite inputs.
/// A process that chose speed over identical results (<see cref="Numerics.UnfusedVariable"/>) rounds a·b, then adds c.
/// </summary>
internal static class ExactFma
{
    /// <summary>Without the instruction, whether the process chose speed over identical results (<see cref="Numerics.UnfusedVariable"/>).</summary>
    private static readonly bool Unfused = !HasInstruction && Numerics.ParseUnfused(Environment.GetEnvironmentVariable(Numerics.UnfusedVariable)) == true;

    /// <summary>Whether the processor has a fused multiply-add instruction .NET uses.</summary>
    private static bool HasInstruction => System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;

    /// <summary>What a·b + c uses in this process.</summary>
    public static MultiplyAddMode Mode => HasInstruction ? MultiplyAddMode.Instruction : Unfused ? MultiplyAddMode.Unfused : MultiplyAddMode.Emulated;

    /// <summary>a·b + c lane by lane: the instruction where there is one, else the emulation on SSE2 (or, unfused, a·b then + c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Vector(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        HasInstruction ? Vector128.FusedMultiplyAdd(a, b, c)
        : Unfused ? a * b + c
        : Sse2.IsSupported ? Emulated(a, b, c)
        : Vector128.FusedMultiplyAdd(a, b, c);

    /// <summary>a·b + c: the instruction where there is one, else the emulation (or, unfused, a·b then + c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(float a, float b, float c) =>
        HasInstruction ? MathF.FusedMultiplyAdd(a, b, c)
        : Unfused ? a * b + c
        : Emulated(a, b, c);

    /// <summary>The emulation on SSE2, four lanes (public for the tests, which compare it with the instruction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Emulated(Vector128<float> a, Vector128<float> b, Vector128<float> c)
    {
        var lo = Half(Sse2.ConvertToVector128Double(a), Sse2.ConvertToVector128Double(b), Sse2.ConvertToVector128Double(c));
        var hi = Half(Sse2.ConvertToVector128Double(Sse.MoveHighToLow(a, a)), Sse2.ConvertToVector128Double(Sse.MoveHighToLow(b, b)),
            Sse2.ConvertToVector128Double(Sse.MoveHighToLow(c, c)));
        return Sse.MoveLowToHigh(Sse2.ConvertToVector128Single(lo), Sse2.ConvertToVector128Single(hi));
    }

    /// <summary>Two lanes of a·b + c in double, rounded to odd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> Half(Vector128<double> a, Vector128<double> b, Vector128<double> c)
    {
        var p = a * b;
        var s = p + c;
        // The exact rounding error of s (Knuth's two-sum): p + c = s + e.
        var bv = s - p;
        var e = (p - (s - bv)) + (c - bv);
        // Inexact (e ≠ 0; false for NaN) with an even last bit: step one unit towards the exact sum.
        var zero = Vector128<double>.Zero;
        var inexact = Sse2.Or(Sse2.CompareGreaterThan(e, zero), Sse2.CompareLessThan(e, zero)).AsInt64();
        var bits = s.AsInt64();
        var even = (bits & Vector128.Create(1L)) - Vector128.Create(1L);
        // Away from zero (+1 on the magnitude) when the error has the sign of s, else towards it (−1).
        var away = Sse2.Xor(Sse2.CompareGreaterThan(e, zero), Sse2.CompareLessThan(s, zero)).AsInt64();
        var step = (away & Vector128.Create(2L)) - Vector128.Create(1L);
        return (bits + (step & inexact & even)).AsDouble();
    }

    /// <summary>The emulation without SIMD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Emulated(float a, float b, float c)
    {
        double p = (double)a * b, cd = c, s = p + cd;
        double bv = s - p, e = (p - (s - bv)) + (cd - bv);
        if (e != 0 && !double.IsNaN(e))
        {
            long bits = BitConverter.DoubleToInt64Bits(s);
            if ((bits & 1) == 0) s = BitConverter.Int64BitsToDouble(bits + ((e > 0) != (s < 0) ? 1 : -1));
        }
        return (float)s;
    }
}
