using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NormSharp.Errors;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The per-row building blocks shared by LayerNorm and RMSNorm. Statistics use a pivot K (the row's first
/// element): sums of (x − K) and (x − K)² are accumulated in float lanes over short blocks and combined in
/// double, so a mean that is large against the spread does not cancel; the normalize pass subtracts the
/// mean as K + d so the small part of x − mean is not rounded away.
/// </summary>
internal static class RowNormalization
{
    /// <summary>Elements per float-lane block before the partial sums are folded into double.</summary>
    private const int Block = 1024;

    /// <summary>Rows per parallel chunk: enough that a chunk moves ≥ 64 KB.</summary>
    public static int Grain(int cols) => Math.Max(1, (64 * 1024 / 4) / Math.Max(1, cols));

    /// <summary>Σ(x − k) and Σ(x − k)² of one row, in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ShiftedSums(ReadOnlySpan<float> row, float k, out double s1, out double s2)
    {
        s1 = 0;
        s2 = 0;
        int n = row.Length;
        ref float x = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
        var kv = Vector256.Create(k);
        for (int start = 0; start < n; start += Block)
        {
            int end = Math.Min(n, start + Block);
            int i = start;
            double z1 = 0, z2 = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                // 512-bit lanes halve the instruction count, which is what limits a pass over cache-resident rows.
                var k5 = Vector512.Create(k);
                var p1 = Vector512<float>.Zero; var p2 = Vector512<float>.Zero;
                var q1 = Vector512<float>.Zero; var q2 = Vector512<float>.Zero;
                for (; i <= end - 32; i += 32)
                {
                    var d0 = Vector512.LoadUnsafe(ref x, (nuint)i) - k5;
                    var d1 = Vector512.LoadUnsafe(ref x, (nuint)(i + 16)) - k5;
                    p1 += d0;
                    p2 = Vector512.FusedMultiplyAdd(d0, d0, p2);
                    q1 += d1;
                    q2 = Vector512.FusedMultiplyAdd(d1, d1, q2);
                }
                z1 = Vector512.Sum(p1 + q1);
                z2 = Vector512.Sum(p2 + q2);
            }
            // Four independent accumulator pairs hide the FMA latency; one chain would cap the pass at a quarter of the load rate.
            var a1 = Vector256<float>.Zero; var a2 = Vector256<float>.Zero;
            var b1 = Vector256<float>.Zero; var b2 = Vector256<float>.Zero;
            var c1 = Vector256<float>.Zero; var c2 = Vector256<float>.Zero;
            var e1v = Vector256<float>.Zero; var e2v = Vector256<float>.Zero;
            for (; i <= end - 32; i += 32)
            {
                var d0 = Vector256.LoadUnsafe(ref x, (nuint)i) - kv;
                var d1 = Vector256.LoadUnsafe(ref x, (nuint)(i + 8)) - kv;
                var d2 = Vector256.LoadUnsafe(ref x, (nuint)(i + 16)) - kv;
                var d3 = Vector256.LoadUnsafe(ref x, (nuint)(i + 24)) - kv;
                a1 += d0;
                a2 = Vector256.FusedMultiplyAdd(d0, d0, a2);
                b1 += d1;
                b2 = Vector256.FusedMultiplyAdd(d1, d1, b2);
                c1 += d2;
                c2 = Vector256.FusedMultiplyAdd(d2, d2, c2);
                e1v += d3;
                e2v = Vector256.FusedMultiplyAdd(d3, d3, e2v);
            }
            for (; i <= end - 8; i += 8)
            {
                var d0 = Vector256.LoadUnsafe(ref x, (nuint)i) - kv;
                a1 += d0;
                a2 = Vector256.FusedMultiplyAdd(d0, d0, a2);
            }
            a1 += b1 + c1 + e1v;
            a2 += b2 + c2 + e2v;
            double e1 = z1 + Vector256.Sum(a1), e2 = z2 + Vector256.Sum(a2);
            for (; i < end; i++)
            {
                double d = (double)Unsafe.Add(ref x, i) - k;
                e1 += d;
                e2 += d * d;
            }
            s1 += e1;
            s2 += e2;
        }
    }

    /// <summary>Σ x² of one row, in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumSquares(ReadOnlySpan<float> row)
    {
        double s = 0;
        int n = row.Length;
        ref float x = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
        for (int start = 0; start < n; start += Block)
        {
            int end = Math.Min(n, start + Block);
            int i = start;
            double z = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var p = Vector512<float>.Zero;
                var q = Vector512<float>.Zero;
                for (; i <= end - 32; i += 32)
                {
                    var v0 = Vector512.LoadUnsafe(ref x, (nuint)i);
                    var v1 = Vector512.LoadUnsafe(ref x, (nuint)(i + 16));
                    p = Vector512.FusedMultiplyAdd(v0, v0, p);
                    q = Vector512.FusedMultiplyAdd(v1, v1, q);
                }
                z = Vector512.Sum(p + q);
            }
            var a = Vector256<float>.Zero;
            var b = Vector256<float>.Zero;
            var c = Vector256<float>.Zero;
            var d = Vector256<float>.Zero;
            for (; i <= end - 32; i += 32)
            {
                var v0 = Vector256.LoadUnsafe(ref x, (nuint)i);
                var v1 = Vector256.LoadUnsafe(ref x, (nuint)(i + 8));
                var v2 = Vector256.LoadUnsafe(ref x, (nuint)(i + 16));
                var v3 = Vector256.LoadUnsafe(ref x, (nuint)(i + 24));
                a = Vector256.FusedMultiplyAdd(v0, v0, a);
                b = Vector256.FusedMultiplyAdd(v1, v1, b);
                c = Vector256.FusedMultiplyAdd(v2, v2, c);
                d = Vector256.FusedMultiplyAdd(v3, v3, d);
            }
            for (; i <= end - 8; i += 8)
            {
                var v0 = Vector256.LoadUnsafe(ref x, (nuint)i);
                a = Vector256.FusedMultiplyAdd(v0, v0, a);
            }
            a += c;
            b += d;
            double e = z + Vector256.Sum(a + b);
            for (; i < end; i++)
            {
                double v = Unsafe.Add(ref x, i);
                e += v * v;
            }
            s += e;
        }
        return s;
    }

    public static void CheckEps(string op, float eps)
    {
        if (!(eps > 0f) || float.IsInfinity(eps))
            throw new InvalidValueException("eps", $"{op}: eps must be a positive finite number, got {eps}.");
    }

    public static void CheckRows(string op, int rows, int cols)
    {
        if (rows < 0 || cols < 0)
            throw new ShapeMismatchException($"{op}: rows ({rows}) and cols ({cols}) must not be negative.");
        if ((long)rows * cols > Array.MaxLength)
            throw new ShapeMismatchException($"{op}: [{rows}, {cols}] is larger than an array can hold.");
    }

    public static void CheckLength(string op, string name, int actual, long expected)
    {
        if (actual != expected)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but {expected} are needed.");
    }

    public static void CheckOptional(string op, string name, int actual, int cols)
    {
        if (actual != 0 && actual != cols)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but the normalized size is {cols} (pass an empty span for none).");
    }
}
