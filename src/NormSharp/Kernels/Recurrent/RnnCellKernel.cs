using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The Elman tanh RNN step after its recurrent product: h' = tanh(x + hp + (b_ih + b_hh)) with x = W_ih·x. It keeps
/// nothing besides h' itself: the backward reads (1 − h'²) from the state.
/// </summary>
internal unsafe struct RnnCellKernel : ICellKernel<RnnCellKernel>
{
    /// <summary>b_ih + b_hh [H] (zeros when none).</summary>
    public float* Shift;

    public int Hidden;

    public static int GateBlocks => 1;
    public static bool HasCellState => false;
    public static bool KeepsRecurrentProduct => false;
    public static bool KeepsProjectedInput => false;
    public static bool RecurrentGradientIsInputGradient => true;
    public static bool DirectHiddenPath => false;

    public readonly int TemporaryFloatsPerRow => 0;
    public readonly int PartialFloats => 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Forward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>
    {
        for (int r = 0; r < s.Rows; r++)
            GateOps.Run<TV, GateOps.AddThreeTanh<TV>>(default, s.X + (nint)r * Hidden, s.Hp + (nint)r * Hidden, Shift, s.HNext + (nint)r * Hidden, Hidden);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Backward<TV>(in StepRows s) where TV : unmanaged, IFloatVector<TV>
    {
        // dhp = dh·(1 − h'²), which is also the projected input's gradient; the chunk's rows are contiguous in each.
        nint n = (nint)s.Rows * Hidden;
        GateOps.Run<TV, TanhGradient<TV>>(default, s.Dh, s.HNext, s.DHp, null, n);
    }

    private struct TanhGradient<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 3;
        public static int Writes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s2 = s0 * TV.Fma(TV.Zero - s1, s1, TV.Create(1f));
    }
}
