using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;
using NormSharp.Threading;

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
            return Reduce<SquareMode>(px, null, x.Length);
        }
    }

    /// <summary>Σ a·b, in the fixed order of <see cref="LaneSums"/>.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        SameLength("Dot", a.Length, b.Length, b.Length);
        fixed (float* pa = a, pb = b)
        {
            return Reduce<DotMode>(pa, pb, a.Length);
        }
    }

    /// <summary>Σ (a − b)², in the fixed order of <see cref="LaneSums"/>.</summary>
    public static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        SameLength("SquaredDistance", a.Length, b.Length, b.Length);
        fixed (float* pa = a, pb = b)
        {
            return Reduce<DistanceMode>(pa, pb, a.Length);
        }
    }

    /// <summary>Σ x, in the fixed order of <see cref="LaneSums"/>.</summary>
    public static double Sum(ReadOnlySpan<float> x)
    {
        fixed (float* px = x)
        {
            return Reduce<SumMode>(px, null, x.Length);
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

    /// <summary>
    /// Blocks of <see cref="LaneSums.BlockElements"/> per parallel chunk of a long reduction (256 KB of one stream):
    /// below two chunks' worth the reduction runs on the calling thread.
    /// </summary>
    private const int ReduceGrainBlocks = 64;

    /// <summary>
    /// A reduction Σ term(a, b) over n elements. A long one is split over the pool by <see cref="LaneSums"/>' own
    /// blocks: each block's float sum is computed alone (a block run by itself is that block's term of the whole
    /// run) and the terms are added in double in block order, so the result has the same bits as the one-thread
    /// run, on any number of threads.
    /// </summary>
    [SkipLocalsInit]
    private static double Reduce<TMode>(float* a, float* b, int n) where TMode : struct, IProductMode
    {
        // LaneSums' blocks: whole lane groups in blocks of BlockElements, the last partial group joining the last block.
        int groups = n & ~(LaneSums.Lanes - 1);
        int blocks = Math.Max(1, (groups + LaneSums.BlockElements - 1) / LaneSums.BlockElements);
        var work = new SumWork<TMode> { A = a, B = b, N = n };
        if (blocks < 2 * ReduceGrainBlocks || ParallelFor.MaxThreads < 2)
        {
            Widths.Dispatch(ref work);
            return work.Result;
        }
        const int StackBlocks = 4096;
        double[]? rented = blocks > StackBlocks ? System.Buffers.ArrayPool<double>.Shared.Rent(blocks) : null;
        double* stack = stackalloc double[rented is null ? blocks : 1];
        fixed (double* heap = rented)
        {
            var body = new BlockSums<TMode> { A = a, B = b, N = n, Terms = rented is null ? stack : heap };
            WidthParallel.Run(blocks, ReduceGrainBlocks, ref body);
            double total = 0;
            for (int i = 0; i < blocks; i++) total += body.Terms[i];
            if (rented is not null) System.Buffers.ArrayPool<double>.Shared.Return(rented);
            return total;
        }
    }

    /// <summary>The sums of blocks [start, end) of a reduction, each into its own term.</summary>
    private struct BlockSums<TMode> : IParallelWidthBody where TMode : struct, IProductMode
    {
        public float* A, B;
        public int N;
        public double* Terms;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            int last = (N & ~(LaneSums.Lanes - 1)) - 1;
            last = last < 0 ? 0 : last / LaneSums.BlockElements;
            for (int block = start; block < end; block++) Terms[block] = Block<TV>(block, block == last);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly double Block<TV>(int block, bool last) where TV : unmanaged, IFloatVector<TV>
        {
            nint offset = (nint)block * LaneSums.BlockElements;
            var terms = new ProductTerms<TV, TMode> { A = A + offset, B = B == null ? null : B + offset };
            LaneSums.Run<TV, ProductTerms<TV, TMode>>(terms, last ? N - offset : LaneSums.BlockElements, out double sum, out _, out _);
            return sum;
        }
    }

    private struct SumWork<TMode> : IWidthGeneric where TMode : struct, IProductMode
    {
        public float* A, B;
        public int N;
        public double Result;

        // Reductions run long loops from their first call: compiled fully optimized rather than through tiering
        // (whose on-stack replacement of the loop measured at half the speed).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            var terms = new ProductTerms<TV, TMode> { A = A, B = B };
            LaneSums.Run<TV, ProductTerms<TV, TMode>>(terms, N, out Result, out _, out _);
        }
    }

    /// <summary>What a reduction adds per element, chosen at compile time so the loop carries no branch.</summary>
    private interface IProductMode
    {
        /// <summary>Whether the term reads a second operand.</summary>
        static abstract bool ReadsB { get; }

        /// <summary>s + term(a, b), lane by lane.</summary>
        static abstract TV Add<TV>(TV s, TV a, TV b) where TV : unmanaged, IFloatVector<TV>;
    }

    /// <summary>Σ a.</summary>
    private readonly struct SumMode : IProductMode
    {
        public static bool ReadsB => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<TV>(TV s, TV a, TV b) where TV : unmanaged, IFloatVector<TV> => s + a;
    }

    /// <summary>Σ a².</summary>
    private readonly struct SquareMode : IProductMode
    {
        public static bool ReadsB => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<TV>(TV s, TV a, TV b) where TV : unmanaged, IFloatVector<TV> => TV.Fma(a, a, s);
    }

    /// <summary>Σ a·b.</summary>
    private readonly struct DotMode : IProductMode
    {
        public static bool ReadsB => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<TV>(TV s, TV a, TV b) where TV : unmanaged, IFloatVector<TV> => TV.Fma(a, b, s);
    }

    /// <summary>Σ (a − b)².</summary>
    private readonly struct DistanceMode : IProductMode
    {
        public static bool ReadsB => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Add<TV>(TV s, TV a, TV b) where TV : unmanaged, IFloatVector<TV>
        {
            var d = a - b;
            return TV.Fma(d, d, s);
        }
    }

    /// <summary>The terms of a reduction in mode <typeparamref name="TMode"/> (B unused unless the mode reads it).</summary>
    private struct ProductTerms<TV, TMode> : ISumTerms<ProductTerms<TV, TMode>, TV> where TV : unmanaged, IFloatVector<TV> where TMode : struct, IProductMode
    {
        public float* A, B;

        public static int Sums => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly Sums3<TV> Add(nint i, Sums3<TV> s)
        {
            var a = TV.Load(A + i);
            return new() { A = TMode.Add(s.A, a, TMode.ReadsB ? TV.Load(B + i) : a) };
        }

        public readonly ProductTerms<TV, TMode> Padded(nint start, int count, float* scratch) => new()
        {
            A = LaneSums.Pad(A, start, count, scratch, 0f),
            B = TMode.ReadsB ? LaneSums.Pad(B, start, count, scratch + LaneSums.Lanes, 0f) : null,
        };
    }
}
