using System.Runtime.Intrinsics;
using NormSharp.Kernels.Simd;

namespace NormSharp.Tests.Kernels;

/// <summary>
/// The CI legs rerun the kernel tests with <c>DOTNET_EnableAVX512=0</c>, <c>DOTNET_EnableAVX2=0</c> or
/// <c>DOTNET_EnableHWIntrinsic=0</c> and name the vector hardware they expect in <c>NORMSHARP_EXPECT_SIMD</c>
/// (avx512, avx2, sse or none), so a leg whose switch stopped working fails instead of quietly testing the
/// default path again.
/// </summary>
[Trait("Category", "Kernels")]
public class InstructionSetTests
{
    [Fact]
    public void TheLegRunsOnTheVectorHardwareItNames()
    {
        string? expected = Environment.GetEnvironmentVariable("NORMSHARP_EXPECT_SIMD");
        if (string.IsNullOrEmpty(expected)) return; // a plain run tests whatever this machine has
        var (v512, v256, v128, widest) = expected switch
        {
            "avx512" => (true, true, true, VectorWidth.Bits512),
            "avx2" => (false, true, true, VectorWidth.Bits256),
            "sse" => (false, false, true, VectorWidth.Bits128),
            "none" => (false, false, false, VectorWidth.Scalar),
            _ => throw new Xunit.Sdk.XunitException($"NORMSHARP_EXPECT_SIMD={expected}: expected avx512, avx2, sse or none"),
        };
        string actual = $"Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, Vector128 {Vector128.IsHardwareAccelerated}, kernels at {Widths.Widest}";
        Assert.True(Vector512.IsHardwareAccelerated == v512 && Vector256.IsHardwareAccelerated == v256 && Vector128.IsHardwareAccelerated == v128 && Widths.Widest == widest,
            $"NORMSHARP_EXPECT_SIMD={expected} but this process has {actual}");
        // Below AVX2 .NET switches the fused multiply-add off too (x86), so those legs test its exact emulation.
        var multiplyAdd = expected is "avx512" or "avx2" || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported
            ? NormSharp.Kernels.MultiplyAddMode.Instruction
            : NormSharp.Kernels.MultiplyAddMode.Emulated;
        Assert.Equal(multiplyAdd, NormSharp.Kernels.Numerics.MultiplyAdd);
    }

    [Fact]
    public void TheMultiplyAddVariableAcceptsExactOrUnfusedOnly()
    {
        Assert.Equal(false, NormSharp.Kernels.Numerics.ParseUnfused(null));
        Assert.Equal(false, NormSharp.Kernels.Numerics.ParseUnfused(""));
        Assert.Equal(false, NormSharp.Kernels.Numerics.ParseUnfused("exact"));
        Assert.Equal(true, NormSharp.Kernels.Numerics.ParseUnfused("unfused"));
        Assert.Null(NormSharp.Kernels.Numerics.ParseUnfused("fast"));
        Assert.Null(NormSharp.Kernels.Numerics.ParseUnfused("Unfused"));
    }
}
