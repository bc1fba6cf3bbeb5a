using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The statistics contract of every normalization. A group of n values (a LayerNorm row, a GroupNorm group, a
/// BatchNorm channel) is shifted by a pivot K, its first value: S1 = Σ(x − K) and S2 = Σ(x − K)² are accumulated with
/// <see cref="LaneSums"/> (float lanes over blocks of 1024, blocks added in double), then
/// mean = K + S1/n and var = max(S2/n − (S1/n)², 0) in double. Because x − K is small wherever the spread is small,
/// a mean of 1e5 with a variance of 1e-4 keeps float accuracy. RMSNorm is the same sums with K = 0 and no centring.
/// The mean is handed to the apply step as two floats (hi + lo, see <see cref="Split"/>) so that x − mean keeps the
/// part a float mean would round away.
/// </summary>
internal static unsafe class Moments
{
    /// <summary>Adds Σ(x − K) and Σ(x − K)² over x[0..n) to <paramref name="s1"/> and <paramref name="s2"/>.</summary>
    /// <remarks>Compiled on its own and fully optimized: inlined into the forward's row loop it leaves that loop slower.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Accumulate<TV>(float* x, nint n, float pivot, ref double s1, ref double s2) where TV : unmanaged, IFloatVector<TV>
    {
        var terms = new ShiftedTerms<TV> { X = x, PivotV = TV.Create(pivot) };
        LaneSums.Run<TV, ShiftedTerms<TV>>(terms, n, out double a, out double b, out _);
        s1 += a;
        s2 += b;
    }

    /// <summary>Mean and rstd = 1/sqrt(var + eps) from the sums over <paramref name="count"/> values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Finish(float pivot, double s1, double s2, double count, float eps, out double mean, out double variance, out float rstd)
    {
        double d = s1 / count;
        mean = pivot + d;
        variance = Math.Max(s2 / count - d * d, 0.0);
        rstd = (float)(1.0 / Math.Sqrt(variance + eps));
    }

    /// <summary>The root-mean-square normalizer 1/sqrt(Σx²/n + eps) from S2 with K = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FinishRms(double s2, double count, float eps) => (float)(1.0 / Math.Sqrt(s2 / count + eps));

    /// <summary>Splits a mean into the float nearest it and the float nearest the remainder.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Split(double value, out float hi, out float lo)
    {
        hi = (float)value;
        lo = (float)(value - hi);
    }

    private struct ShiftedTerms<TV> : ISumTerms<ShiftedTerms<TV>, TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float* X;
        public TV PivotV;

        public static int Sums => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly Sums3<TV> Add(nint i, Sums3<TV> s)
        {
            var d = TV.Load(X + i) - PivotV;
            return new Sums3<TV> { A = s.A + d, B = TV.Fma(d, d, s.B) };
        }

        public readonly ShiftedTerms<TV> Padded(nint start, int count, float* scratch) =>
            this with { X = LaneSums.Pad(X, start, count, scratch, TV.First(PivotV)) };
    }
}
