using System.Runtime.Intrinsics;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>
/// Reductions: sums in double precision and in a fixed order (the same bits on every CPU, no cancellation
/// trouble at large means), and the maximum along one axis with the index where it was found.
/// Sums over arbitrary sets of dimensions are <see cref="BroadcastKernels.SumTo"/>.
/// </summary>
public static class ReductionKernels
{
    /// <summary>
    /// Σ x in double precision. Element i goes to accumulator i mod 16 and the sixteen are combined pairwise, with
    /// or without vector hardware, so the result is identical on every CPU; sixteen independent chains keep the
    /// additions' latency hidden.
    /// </summary>
    public static double SumDouble(ReadOnlySpan<float> x)
    {
        const int Lanes = 16;
        Span<double> lane = stackalloc double[Lanes];
        lane.Clear();
        int i = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Lanes)
        {
            Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= x.Length - Lanes; i += Lanes)
            {
                var v = Vector256.Create(x.Slice(i, 8));
                var w = Vector256.Create(x.Slice(i + 8, 8));
                a0 += Vector256.WidenLower(v);
                a1 += Vector256.WidenUpper(v);
                a2 += Vector256.WidenLower(w);
                a3 += Vector256.WidenUpper(w);
            }
            a0.CopyTo(lane);
            a1.CopyTo(lane[4..]);
            a2.CopyTo(lane[8..]);
            a3.CopyTo(lane[12..]);
        }
        else
        {
            for (; i <= x.Length - Lanes; i += Lanes)
                for (int j = 0; j < Lanes; j++) lane[j] += x[i + j];
        }
        for (int width = Lanes / 2; width >= 1; width /= 2)
            for (int j = 0; j < width; j++) lane[j] = lane[2 * j] + lane[2 * j + 1];
        double total = lane[0];
        for (; i < x.Length; i++) total += x[i];
        return total;
    }

    /// <summary>acc[j] += x[j] in double precision (each column on its own, so any vector width gives the same bits).</summary>
    public static void AddWidened(ReadOnlySpan<float> x, Span<double> acc)
    {
        if (x.Length != acc.Length)
            throw new ShapeMismatchException($"AddWidened: {x.Length} values for {acc.Length} accumulators.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 8; i += 8)
            {
                var v = Vector256.Create(x.Slice(i, 8));
                (Vector256.Create((ReadOnlySpan<double>)acc.Slice(i, 4)) + Vector256.WidenLower(v)).CopyTo(acc.Slice(i, 4));
                (Vector256.Create((ReadOnlySpan<double>)acc.Slice(i + 4, 4)) + Vector256.WidenUpper(v)).CopyTo(acc.Slice(i + 4, 4));
            }
        }
        for (; i < x.Length; i++) acc[i] += x[i];
    }

    /// <summary>
    /// The maximum along the middle axis of x viewed as [outer, n, inner], with the index where it occurs
    /// (the first occurrence; a NaN wins and propagates, as in PyTorch's <c>max(dim)</c>). Both outputs hold
    /// outer·inner elements.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The sizes do not fit the spans, or n is 0 while there are results (a maximum over nothing).</exception>
    public static void MaxAlongAxis(ReadOnlySpan<float> x, int outer, int n, int inner, Span<float> values, Span<int> indices)
        => ExtremumAlongAxis<Greater>(x, outer, n, inner, values, indices, "MaxAlongAxis");

    /// <summary>The minimum along the middle axis of x viewed as [outer, n, inner], with its index, as <see cref="MaxAlongAxis"/>.</summary>
    /// <exception cref="ShapeMismatchException">The sizes do not fit the spans, or n is 0 while there are results.</exception>
    public static void MinAlongAxis(ReadOnlySpan<float> x, int outer, int n, int inner, Span<float> values, Span<int> indices)
        => ExtremumAlongAxis<Less>(x, outer, n, inner, values, indices, "MinAlongAxis");

    private static void ExtremumAlongAxis<TBetter>(ReadOnlySpan<float> x, int outer, int n, int inner, Span<float> values, Span<int> indices, string op)
        where TBetter : struct, IOrder
    {
        if (outer < 0 || n < 0 || inner < 0 || x.Length != (long)outer * n * inner)
            throw new ShapeMismatchException($"{op}: {x.Length} elements do not hold [{outer}, {n}, {inner}].");
        long count = (long)outer * inner;
        if (values.Length != count || indices.Length != count)
            throw new ShapeMismatchException($"{op}: outputs of {values.Length} values and {indices.Length} indices for {count} results.");
        if (count == 0) return;
        if (n == 0) throw new ShapeMismatchException($"{op}: the reduced axis is empty, so there is no extremum.");
        for (int o = 0; o < outer; o++)
        {
            var block = x.Slice(o * n * inner, n * inner);
            var vals = values.Slice(o * inner, inner);
            var idx = indices.Slice(o * inner, inner);
            // Row by row, so the reads stream through memory; a column that met a NaN keeps it.
            block[..inner].CopyTo(vals);
            idx.Clear();
            for (int r = 1; r < n; r++)
            {
                var row = block.Slice(r * inner, inner);
                for (int j = 0; j < inner; j++)
                {
                    float v = row[j], best = vals[j];
                    if (TBetter.Better(v, best) || float.IsNaN(v) && !float.IsNaN(best))
                    {
                        vals[j] = v;
                        idx[j] = r;
                    }
                }
            }
        }
    }

    /// <summary>A strict order the extremum kernels are specialized for at JIT time.</summary>
    private interface IOrder
    {
        static abstract bool Better(float candidate, float best);
    }

    private readonly struct Greater : IOrder
    {
        public static bool Better(float candidate, float best) => candidate > best;
    }

    private readonly struct Less : IOrder
    {
        public static bool Better(float candidate, float best) => candidate < best;
    }
}
