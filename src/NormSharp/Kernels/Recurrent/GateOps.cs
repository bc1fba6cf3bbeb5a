using System.Runtime.CompilerServices;
using NormSharp.Kernels.Normalization;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Recurrent;

/// <summary>
/// The element-wise passes the recurrent cells' forward is made of, each one <see cref="Elementwise"/> loop over part
/// of a row still in L1. A step's gate arithmetic is split into passes of at most one transcendental function each,
/// so that every loop stays small enough for the JIT to inline its vector operations (one loop with five
/// exponentials runs several times slower).
/// </summary>
internal static unsafe class GateOps
{
    /// <summary>Runs <paramref name="op"/> over n elements of up to four streams.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TV, TOp>(TOp op, float* s0, float* s1, float* s2, float* s3, nint n)
        where TV : unmanaged, IFloatVector<TV> where TOp : struct, IElementwise<TV> =>
        Elementwise.Run<TV, TOp>(ref op, s0, s1, s2, s3, n);

    /// <summary>s3 = (s0 + s1) + s2.</summary>
    public struct AddThree<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = s0 + s1 + s2;
    }

    /// <summary>s3 = σ((s0 + s1) + s2).</summary>
    public struct AddThreeSigmoid<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = FloatMath<TV>.Sigmoid(s0 + s1 + s2);
    }

    /// <summary>s3 = tanh((s0 + s1) + s2).</summary>
    public struct AddThreeTanh<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = FloatMath<TV>.Tanh(s0 + s1 + s2);
    }

    /// <summary>s2 = s0 + s1.</summary>
    public struct AddTwo<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 3;
        public static int Writes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s2 = s0 + s1;
    }

    /// <summary>s0 = σ(s0).</summary>
    public struct Sigmoid<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 1;
        public static int Writes => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s0 = FloatMath<TV>.Sigmoid(s0);
    }

    /// <summary>s0 = tanh(s0).</summary>
    public struct Tanh<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 1;
        public static int Writes => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s0 = FloatMath<TV>.Tanh(s0);
    }

    /// <summary>s2 = s0·s1.</summary>
    public struct Mul<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 3;
        public static int Writes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s2 = s0 * s1;
    }

    /// <summary>s2 = s0·s1 + s2, rounded once.</summary>
    public struct FmaInto<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s2 = TV.Fma(s0, s1, s2);
    }

    /// <summary>s3 = tanh(s0·s1 + s2) (the GRU candidate: tanh(r·hn + xn)).</summary>
    public struct FmaTanh<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = FloatMath<TV>.Tanh(TV.Fma(s0, s1, s2));
    }

    /// <summary>s1 = tanh(s0), s3 = s2·s1 (an LSTM's tanh c' and h' = σ(o)·tanh c').</summary>
    public struct TanhTimes<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 5;
        public static int Writes => 10;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3)
        {
            s1 = FloatMath<TV>.Tanh(s0);
            s3 = s2 * s1;
        }
    }

    /// <summary>s3 = s2 + s0·(s1 − s2), rounded as fma(s0, s1 − s2, s2) (the GRU's h' = n + z·(h − n)).</summary>
    public struct Interpolate<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = TV.Fma(s0, s1 - s2, s2);
    }

    /// <summary>The normalization constants of one group: x̂ = ((x − Hi) − Lo)·R.</summary>
    public struct Norm<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public TV Hi, Lo, R;

        public Norm(float hi, float lo, float r) => (Hi, Lo, R) = (TV.Create(hi), TV.Create(lo), TV.Create(r));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply(TV x) => NormalizeStep.Normalized(x, Hi, Lo, R);
    }

    /// <summary>s3 = x̂(s0)·s1 + s2.</summary>
    public struct NormalizedFma<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public Norm<TV> N;
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = TV.Fma(N.Apply(s0), s1, s2);
    }

    /// <summary>s2 = x̂(s0)·s1 + s2.</summary>
    public struct NormalizedFmaInto<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public Norm<TV> N;
        public static int Reads => 7;
        public static int Writes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s2 = TV.Fma(N.Apply(s0), s1, s2);
    }

    /// <summary>s2 = σ(x̂(s0)·s1 + s2).</summary>
    public struct NormalizedFmaIntoSigmoid<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public Norm<TV> N;
        public static int Reads => 7;
        public static int Writes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s2 = FloatMath<TV>.Sigmoid(TV.Fma(N.Apply(s0), s1, s2));
    }

    /// <summary>s2 = tanh(x̂(s0)·s1 + s2).</summary>
    public struct NormalizedFmaIntoTanh<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public Norm<TV> N;
        public static int Reads => 7;
        public static int Writes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s2 = FloatMath<TV>.Tanh(TV.Fma(N.Apply(s0), s1, s2));
    }

    /// <summary>s3 = tanh(x̂(s0)·s1 + s2) (the LN-LSTM's tanh(LN(c')·γ_c + β_c)).</summary>
    public struct NormalizedFmaTanh<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public Norm<TV> N;
        public static int Reads => 7;
        public static int Writes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = FloatMath<TV>.Tanh(TV.Fma(N.Apply(s0), s1, s2));
    }
}
