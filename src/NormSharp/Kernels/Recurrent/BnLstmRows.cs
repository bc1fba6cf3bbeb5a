using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The element-wise parts of a batch-normalized LSTM step (Cooijmans et al. 2016) over the B rows of one time step,
/// around the batch normalizations that <see cref="Normalization.BatchNormKernels"/> computes across the rows: gates
/// from the two normalized projections and the bias, the cell update, h from the normalized cell state, and their
/// backward. Gate order i, f, g, o; each row [4H]. Every element depends only on its own inputs, so the same bits at
/// every width.
/// </summary>
internal static unsafe class BnLstmRows
{
    /// <summary>gates = σ/tanh(yih + yhh + bias) and c' = σ(f)·c + σ(i)·tanh(g) over <paramref name="rows"/> rows.</summary>
    public static void Gates(int rows, int hidden, float* yih, float* yhh, float* bias, float* cPrev, float* gates, float* c)
    {
        var work = new GatesWork { Rows = rows, Hidden = hidden, Yih = yih, Yhh = yhh, Bias = bias, CPrev = cPrev, Gates = gates, C = c };
        Widths.Dispatch(ref work);
    }

    /// <summary>tanh of the normalized cell state and h' = σ(o)·that over <paramref name="rows"/> rows.</summary>
    public static void Output(int rows, int hidden, float* yc, float* gates, float* tc, float* h)
    {
        var work = new OutputWork { Rows = rows, Hidden = hidden, Yc = yc, Gates = gates, Tc = tc, H = h };
        Widths.Dispatch(ref work);
    }

    /// <summary>Backward of <see cref="Output"/>: dgates_o, and <paramref name="dh"/> overwritten by the gradient of the normalized cell state.</summary>
    public static void OutputBackward(int rows, int hidden, float* gates, float* tc, float* dh, float* dGates)
    {
        var work = new OutputBackwardWork { Rows = rows, Hidden = hidden, Gates = gates, Tc = tc, Dh = dh, DGates = dGates };
        Widths.Dispatch(ref work);
    }

    /// <summary>
    /// Backward of <see cref="Gates"/> given dc' = <paramref name="dcNorm"/> + <paramref name="dc"/>: dgates_i, f, g, and
    /// <paramref name="dc"/> overwritten by dc_prev = dc'·σ(f).
    /// </summary>
    public static void CellBackward(int rows, int hidden, float* gates, float* cPrev, float* dcNorm, float* dc, float* dGates)
    {
        var work = new CellBackwardWork { Rows = rows, Hidden = hidden, Gates = gates, CPrev = cPrev, DcNorm = dcNorm, Dc = dc, DGates = dGates };
        Widths.Dispatch(ref work);
    }

    private struct GatesWork : IWidthGeneric
    {
        public int Rows, Hidden;
        public float* Yih, Yhh, Bias, CPrev, Gates, C;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            int hd = Hidden, g = 4 * hd;
            for (int r = 0; r < Rows; r++)
            {
                nint o = (nint)r * g;
                float* gates = Gates + o, c = C + (nint)r * hd;
                GateOps.Run<TV, GateOps.AddThreeSigmoid<TV>>(default, Yih + o, Yhh + o, Bias, gates, 2 * hd);
                GateOps.Run<TV, GateOps.AddThreeTanh<TV>>(default, Yih + o + 2 * hd, Yhh + o + 2 * hd, Bias + 2 * hd, gates + 2 * hd, hd);
                GateOps.Run<TV, GateOps.AddThreeSigmoid<TV>>(default, Yih + o + 3 * hd, Yhh + o + 3 * hd, Bias + 3 * hd, gates + 3 * hd, hd);
                GateOps.Run<TV, GateOps.Mul<TV>>(default, gates, gates + 2 * hd, c, null, hd);
                GateOps.Run<TV, GateOps.FmaInto<TV>>(default, gates + hd, CPrev + (nint)r * hd, c, null, hd);
            }
        }
    }

    private struct OutputWork : IWidthGeneric
    {
        public int Rows, Hidden;
        public float* Yc, Gates, Tc, H;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            int hd = Hidden;
            for (int r = 0; r < Rows; r++)
            {
                nint o = (nint)r * hd;
                GateOps.Run<TV, GateOps.TanhTimes<TV>>(default, Yc + o, Tc + o, Gates + (nint)r * 4 * hd + 3 * hd, H + o, hd);
            }
        }
    }

    private struct OutputBackwardWork : IWidthGeneric
    {
        public int Rows, Hidden;
        public float* Gates, Tc, Dh, DGates;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            int hd = Hidden;
            for (int r = 0; r < Rows; r++)
            {
                nint o = (nint)r * hd, go = (nint)r * 4 * hd + 3 * hd;
                GateOps.Run<TV, OutputGradient<TV>>(default, Gates + go, Tc + o, Dh + o, DGates + go, hd);
            }
        }
    }

    private struct CellBackwardWork : IWidthGeneric
    {
        public int Rows, Hidden;
        public float* Gates, CPrev, DcNorm, Dc, DGates;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            int hd = Hidden;
            for (int r = 0; r < Rows; r++)
            {
                nint o = (nint)r * hd, go = (nint)r * 4 * hd;
                float* gates = Gates + go, dg = DGates + go, dc = Dc + o;
                GateOps.Run<TV, GateOps.AddTwo<TV>>(default, DcNorm + o, dc, dc, null, hd);
                GateOps.Run<TV, SigmoidGateGradient<TV>>(default, dc, gates + 2 * hd, gates, dg, hd);
                GateOps.Run<TV, SigmoidGateGradient<TV>>(default, dc, CPrev + o, gates + hd, dg + hd, hd);
                GateOps.Run<TV, CandidateGradient<TV>>(default, dc, gates, gates + 2 * hd, dg + 2 * hd, hd);
                GateOps.Run<TV, GateOps.Mul<TV>>(default, dc, gates + hd, dc, null, hd);
            }
        }
    }

    /// <summary>s0 = σ(o), s1 = tanh c, s2 = dh: s3 = dh·tanh c·σ'(o) (dgates_o), s2 = dh·σ(o)·(1 − tanh² c).</summary>
    private struct OutputGradient<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 12;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3)
        {
            var one = TV.Create(1f);
            s3 = s2 * s1 * s0 * (one - s0);
            s2 = s2 * s0 * TV.Fma(TV.Zero - s1, s1, one);
        }
    }

    /// <summary>s3 = s0·s1·σ'(s2) for a sigmoid gate s2 = σ(·): dc·tanh(g)·σ'(i), or dc·c_prev·σ'(f).</summary>
    private struct SigmoidGateGradient<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = s0 * s1 * s2 * (TV.Create(1f) - s2);
    }

    /// <summary>s3 = dc·σ(i)·(1 − tanh²(g)) with s0 = dc, s1 = σ(i), s2 = tanh(g).</summary>
    private struct CandidateGradient<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = s0 * s1 * TV.Fma(TV.Zero - s2, s2, TV.Create(1f));
    }
}
