using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels;

/// <summary>
/// Elementwise arithmetic and reductions over spans, written once for every vector width
/// (<see cref="Elementwise"/>, <see cref="LaneSums"/>): the same bits at every width and for every length.
/// </summary>
public static unsafe class ElementwiseKernels
{
    /// <summary>dst = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        SameLength("Add", a.Length, b.Length, dst.Length);
        Map(new AddOp(), a, b, dst);
    }

    /// <summary>dst = a − b.</summary>
    public static void Sub(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        SameLength("Sub", a.Length, b.Length, dst.Length);
        Map(new SubOp(), a, b, dst);
    }

    /// <summary>dst = a ⊙ b.</summary>
    public static void Mul(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        SameLength("Mul", a.Length, b.Length, dst.Length);
        Map(new MulOp(), a, b, dst);
    }

    /// <summary>dst = s·a (dst may be a).</summary>
    public static void Scale(ReadOnlySpan<float> a, float s, Span<float> dst)
    {
        SameLength("Scale", a.Length, dst.Length, dst.Length);
        Map(new ScaleOp { S = s }, a, a, dst);
    }

    /// <summary>dst += s·a, rounded once (a fused multiply-add).</summary>
    public static void AddScaled(Span<float> dst, ReadOnlySpan<float> a, float s)
    {
        SameLength("AddScaled", a.Length, dst.Length, dst.Length);
        Map(new AddScaledOp { S = s }, a, dst, dst);
    }

    /// <summary>dst += a.</summary>
    public static void AddInPlace(Span<float> dst, ReadOnlySpan<float> a)
    {
        SameLength("AddInPlace", a.Length, dst.Length, dst.Length);
        Map(new AddOp(), dst, a, dst);
    }

    /// <summary>dst[r, :] = x[r, :] + rowVector for every row of a [rows, cols] matrix (dst may be x).</summary>
    public static void AddRowBroadcast(ReadOnlySpan<float> x, ReadOnlySpan<float> rowVector, Span<float> dst, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || x.Length != (long)rows * cols || dst.Length != x.Length || rowVector.Length != cols)
            throw new ShapeMismatchException($"AddRowBroadcast: x has {x.Length} elements, dst {dst.Length}, the row vector {rowVector.Length}, for [{rows}, {cols}].");
        for (int r = 0; r < rows; r++)
            Map(new AddOp(), x.Slice(r * cols, cols), rowVector, dst.Slice(r * cols, cols));
    }

    /// <summary>dst[c] = Σ_r x[r, c] (or += when <paramref name="accumulate"/>): a bias gradient. Rows are added in order, so the result is deterministic.</summary>
    public static void SumOverRows(ReadOnlySpan<float> x, Span<float> dst, int rows, int cols, bool accumulate)
    {
        if (rows < 0 || cols < 0 || x.Length != (long)rows * cols || dst.Length != cols)
            throw new ShapeMismatchException($"SumOverRows: x has {x.Length} elements and dst {dst.Length} for [{rows}, {cols}].");
        if (!accumulate) dst.Clear();
        for (int r = 0; r < rows; r++) Map(new AddOp(), dst, x.Slice(r * cols, cols), dst);
    }

    /// <summary>Σ x², in the fixed order of <see cref="LaneSums"/> (float lanes over blocks, blocks in double).</summary>
    public static double SumSquares(ReadOnlySpan<float> x)
    {
        fixed (float* px = x)
        {
            var work = new SumWork { A = px, B = px, N = x.Length };
            Widths.Dispatch(ref work);
            return work.Result;
        }
    }

    /// <summary>Σ a·b, in the fixed order of <see cref="LaneSums"/>.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        SameLength("Dot", a.Length, b.Length, b.Length);
        fixed (float* pa = a, pb = b)
        {
            var work = new SumWork { A = pa, B = pb, N = a.Length };
            Widths.Dispatch(ref work);
            return work.Result;
        }
    }

    /// <summary>Σ (a − b)², in the fixed order of <see cref="LaneSums"/>.</summary>
    public static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        SameLength("SquaredDistance", a.Length, b.Length, b.Length);
        fixed (float* pa = a, pb = b)
        {
            var work = new SumWork { A = pa, B = pb, N = a.Length, Difference = true };
            Widths.Dispatch(ref work);
            return work.Result;
        }
    }

    /// <summary>Σ x, in the fixed order of <see cref="LaneSums"/>.</summary>
    public static double Sum(ReadOnlySpan<float> x)
    {
        fixed (float* px = x)
        {
            var work = new SumWork { A = px, B = null, N = x.Length };
            Widths.Dispatch(ref work);
            return work.Result;
        }
    }

    /// <summary>True when no element is NaN or infinite.</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        // MaxMagnitude propagates NaN and returns ±∞ if present, so one vectorized pass decides (any order gives the same answer).
        return x.IsEmpty || float.IsFinite(TensorPrimitives.MaxMagnitude(x));
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public static void Fill(Span<float> dst, float value) => dst.Fill(value);

    /// <summary>Runs a two-input, one-output operation at the active width.</summary>
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst) where TOp : struct, IBinaryOp
    {
        fixed (float* pa = a, pb = b, pd = dst)
        {
            var work = new MapWork<TOp> { Op = op, A = pa, B = pb, Dst = pd, N = dst.Length };
            Widths.Dispatch(ref work);
        }
    }

    private static void SameLength(string op, int a, int b, int dst)
    {
        if (a != b || a != dst)
            throw new ShapeMismatchException($"{op}: operands have {a}, {b} and {dst} elements; they must match.");
    }

    /// <summary>An operation y = f(a, b) on whole vectors.</summary>
    internal interface IBinaryOp
    {
        TV Invoke<TV>(TV a, TV b) where TV : unmanaged, IFloatVector<TV>;
    }

    private struct AddOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV a, TV b) where TV : unmanaged, IFloatVector<TV> => a + b;
    }

    private struct SubOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV a, TV b) where TV : unmanaged, IFloatVector<TV> => a - b;
    }

    private struct MulOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV a, TV b) where TV : unmanaged, IFloatVector<TV> => a * b;
    }

    private struct ScaleOp : IBinaryOp
    {
        public float S;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV a, TV b) where TV : unmanaged, IFloatVector<TV> => a * TV.Create(S);
    }

    private struct AddScaledOp : IBinaryOp
    {
        public float S;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV a, TV b) where TV : unmanaged, IFloatVector<TV> => TV.Fma(a, TV.Create(S), b);
    }

    private struct MapWork<TOp> : IWidthGeneric where TOp : struct, IBinaryOp
    {
        public TOp Op;
        public float* A, B, Dst;
        public int N;

        public void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            var op = new BinaryAdapter<TV, TOp> { Op = Op };
            Elementwise.RunParallel<TV, BinaryAdapter<TV, TOp>>(ref op, A, B, null, Dst, N);
        }
    }

    /// <summary>Streams 0 and 1 in, stream 3 out.</summary>
    private struct BinaryAdapter<TV, TOp> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV> where TOp : struct, IBinaryOp
    {
        public TOp Op;

        public static int Reads => 0b0011;
        public static int Writes => 0b1000;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = Op.Invoke(s0, s1);
    }

    private struct SumWork : IWidthGeneric
    {
        public float* A, B;
        public int N;
        public bool Difference;
        public double Result;

        public void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            var terms = new ProductTerms<TV> { A = A, B = B, Difference = Difference };
            LaneSums.Run<TV, ProductTerms<TV>>(terms, N, out Result, out _, out _);
        }
    }

    /// <summary>Σ a·b, Σ (a − b)² with <see cref="Difference"/>, or Σ a when b is null.</summary>
    private struct ProductTerms<TV> : ISumTerms<ProductTerms<TV>, TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float* A, B;
        public bool Difference;

        public static int Sums => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly Sums3<TV> Add(nint i, Sums3<TV> s)
        {
            if (B == null) return new() { A = s.A + TV.Load(A + i) };
            if (!Difference) return new() { A = TV.Fma(TV.Load(A + i), TV.Load(B + i), s.A) };
            var d = TV.Load(A + i) - TV.Load(B + i);
            return new() { A = TV.Fma(d, d, s.A) };
        }

        public readonly ProductTerms<TV> Padded(nint start, int count, float* scratch) => new()
        {
            Difference = Difference,
            A = LaneSums.Pad(A, start, count, scratch, 0f),
            B = B == null ? null : (A == B ? LaneSums.Pad(A, start, count, scratch, 0f) : LaneSums.Pad(B, start, count, scratch + LaneSums.Lanes, 0f)),
        };
    }
}
