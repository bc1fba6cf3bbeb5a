namespace NormSharp.Kernels;

/// <summary>How the kernels compute a·b + c, the operation at the heart of every product and normalization.</summary>
public enum MultiplyAddMode
{
    /// <summary>The processor's fused multiply-add instruction (every x86 processor with AVX2, every ARM64 one).</summary>
    Instruction,

    /// <summary>
    /// No instruction: an exact emulation gives the instruction's bits, so results match every other machine's, at
    /// roughly a tenth of the speed the unfused form reaches on the same processor.
    /// </summary>
    Emulated,

    /// <summary>
    /// No instruction, and the process asked for speed over identical results (<see cref="Numerics.UnfusedVariable"/>):
    /// a·b is rounded before c is added, so results differ in their last bits from other machines' (runs stay
    /// reproducible on this machine).
    /// </summary>
    Unfused,
}
