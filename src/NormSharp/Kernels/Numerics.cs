namespace NormSharp.Kernels;

/// <summary>
/// The numerics of this process's kernels. By default every kernel gives the same bits on every processor; on a
/// processor without a fused multiply-add instruction (x86 without AVX2, or x86 code translated on ARM) that costs
/// most of the speed: training there runs about ten times faster with the environment variable
/// <see cref="UnfusedVariable"/> set to <c>unfused</c> when the process starts, at the price of results that differ
/// in their last bits from other machines'. The variable has no effect where the instruction exists.
/// </summary>
public static class Numerics
{
    /// <summary>The environment variable read once, when the kernels are first used: <c>unfused</c> or <c>exact</c> (the default).</summary>
    public const string UnfusedVariable = "NORMSHARP_MULTIPLY_ADD";

    /// <summary>What this process's kernels use for a·b + c.</summary>
    public static MultiplyAddMode MultiplyAdd => Simd.ExactFma.Mode;

    /// <summary>
    /// Reads a value of <see cref="UnfusedVariable"/>: true for <c>unfused</c>, false for <c>exact</c> or none; null for
    /// anything else (which the kernels treat as <c>exact</c>, the safe choice).
    /// </summary>
    public static bool? ParseUnfused(string? value) => value switch
    {
        null or "" or "exact" => false,
        "unfused" => true,
        _ => null,
    };
}
