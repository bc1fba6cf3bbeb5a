using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NormSharp.Kernels.Simd;
using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels;

/// <summary>
/// The multiply-add emulation for processors without the instruction must give the instruction's bits: it is what
/// keeps results identical on such machines. Compared here with <see cref="MathF.FusedMultiplyAdd"/>, which is
/// correctly rounded on every machine (the instruction, or the runtime's exact fallback).
/// </summary>
[Trait("Category", "Kernels")]
public class ExactFmaTests
{
    private static void Check(float a, float b, float c)
    {
        float expected = MathF.FusedMultiplyAdd(a, b, c);
        float scalar = ExactFma.Emulated(a, b, c);
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(scalar) || (float.IsNaN(expected) && float.IsNaN(scalar)),
            $"scalar fma({a:R}, {b:R}, {c:R}) = {scalar:R}, expected {expected:R}");
        if (!Sse2.IsSupported) return;
        // Each lane on its own, with different neighbours in the other lanes.
        var v = ExactFma.Emulated(Vector128.Create(a, 1f, a, -2f), Vector128.Create(b, 3f, b, 0.5f), Vector128.Create(c, c, -c, 7f));
        float[] want = [expected, MathF.FusedMultiplyAdd(1f, 3f, c), MathF.FusedMultiplyAdd(a, b, -c), MathF.FusedMultiplyAdd(-2f, 0.5f, 7f)];
        for (int lane = 0; lane < 4; lane++)
            Assert.True(BitConverter.SingleToInt32Bits(want[lane]) == BitConverter.SingleToInt32Bits(v[lane]) || (float.IsNaN(want[lane]) && float.IsNaN(v[lane])),
                $"vector lane {lane} of fma({a:R}, {b:R}, {c:R}) = {v[lane]:R}, expected {want[lane]:R}");
    }

    [Fact]
    public void TheCaseWhereRoundingTwiceGoesWrongIsRoundedOnce()
    {
        // a·b = 1 − 2⁻⁴⁶ exactly; a·b + c = 2²⁴ + 3 − 2⁻⁴⁶, just below the midpoint of 2²⁴ + 2 and 2²⁴ + 4. Rounded to
        // double first it becomes the midpoint itself, which then rounds to even (2²⁴ + 4): one rounding gives 2²⁴ + 2.
        float a = 1f + MathF.Pow(2, -23), b = 1f - MathF.Pow(2, -23), c = 16777218f;
        Assert.Equal(16777218f, MathF.FusedMultiplyAdd(a, b, c));
        Assert.Equal(16777220f, (float)((double)a * b + c));
        Check(a, b, c);
        Check(a, b, -c);
        Check(-a, b, c + 2f);
    }

    [Fact]
    public void SpecialValuesZerosAndSubnormalsMatchTheInstruction()
    {
        float[] values = [0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, 1e-38f, 3e-39f, float.MaxValue, -float.MaxValue,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0.1f, 3f, 1e20f, 1e-20f];
        foreach (float a in values)
            foreach (float b in values)
                foreach (float c in values)
                    Check(a, b, c);
    }

    [Fact]
    public void RandomOperandsWithCancellationMatchTheInstruction()
    {
        var rng = new Rng(99);
        for (int i = 0; i < 200_000; i++)
        {
            float a = Random(rng), b = Random(rng);
            // Half the time c nearly cancels a·b, where the rounding of the sum matters most.
            float c = (i & 1) == 0 ? Random(rng) : -(a * b) * (1f + (rng.NextInt(64) - 32) * MathF.Pow(2, -23));
            Check(a, b, c);
        }
    }

    /// <summary>A float with a random sign, a random 24-bit significand and an exponent spread over ±40 binary orders.</summary>
    private static float Random(Rng rng)
    {
        int exponent = 127 + rng.NextInt(81) - 40;
        int bits = (rng.NextInt(2) << 31) | (exponent << 23) | (rng.NextInt(1 << 23));
        return BitConverter.Int32BitsToSingle(bits);
    }
}
