using System.Runtime.CompilerServices;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;

namespace NormSharp.Kernels;

/// <summary>
/// Softmax and log-softmax over the rows of a [rows, cols] matrix, with the row maximum subtracted for stability.
/// Exponentials, sums (<see cref="LaneSums"/>) and logarithms are the kernels' own, so every width gives the same bits.
/// </summary>
public static unsafe class SoftmaxKernels
{
    /// <summary>y[r] = softmax(x[r]).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        Check("Softmax", x.Length, y.Length, rows, cols);
        for (int r = 0; r < rows; r++) SoftmaxRow(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
    }

    /// <summary>Softmax of one row into <paramref name="y"/>; returns the row's log-sum-exp (computed with the maximum subtracted).</summary>
    internal static double SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        fixed (float* px = x, py = y)
        {
            var work = new RowWork { X = px, Y = py, N = x.Length, Kind = RowKind.Softmax };
            Widths.Dispatch(ref work);
            return work.Result;
        }
    }

    /// <summary>dx = y ⊙ (dy − Σ dy·y) per row.</summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx, int rows, int cols)
    {
        Check("SoftmaxBackward", dy.Length, dx.Length, rows, cols);
        Check("SoftmaxBackward", y.Length, dx.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float dot = (float)ElementwiseKernels.Dot(dyr, yr);
            ElementwiseKernels.Map(new ShiftThenScale { Shift = dot }, dyr, yr, dx.Slice(r * cols, cols));
        }
    }

    /// <summary>y[r] = x[r] − max − log Σ exp(x[r] − max).</summary>
    public static void LogSoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        Check("LogSoftmax", x.Length, y.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            fixed (float* px = x.Slice(r * cols), py = y.Slice(r * cols))
            {
                var work = new RowWork { X = px, Y = py, N = cols, Kind = RowKind.LogSoftmax };
                Widths.Dispatch(ref work);
            }
        }
    }

    /// <summary>dx = dy − exp(y)·Σ dy per row (y is the log-softmax output).</summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> dx, int rows, int cols)
    {
        Check("LogSoftmaxBackward", dy.Length, dx.Length, rows, cols);
        Check("LogSoftmaxBackward", y.Length, dx.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * cols, cols);
            float sum = (float)ElementwiseKernels.Sum(dyr);
            ElementwiseKernels.Map(new ExpScaledFrom { Scale = -sum }, y.Slice(r * cols, cols), dyr, dx.Slice(r * cols, cols));
        }
    }

    private static void Check(string op, int xLen, int yLen, int rows, int cols)
    {
        if (rows < 0 || cols <= 0 && rows > 0 || xLen != (long)rows * cols || yLen != xLen)
            throw new ShapeMismatchException($"{op}: buffers of {xLen} and {yLen} elements do not hold [{rows}, {cols}].");
    }

    private enum RowKind
    {
        /// <summary>y = softmax(x); result: log-sum-exp.</summary>
        Softmax,
        /// <summary>y = log softmax(x).</summary>
        LogSoftmax,
    }

    private struct RowWork : IWidthGeneric
    {
        public float* X, Y;
        public int N;
        public RowKind Kind;
        public double Result;

        public void Run<TV>() where TV : unmanaged, IFloatVector<TV>
        {
            if (N == 0)
            {
                Result = double.NegativeInfinity;
                return;
            }
            float max = Max<TV>(X, N);
            if (float.IsNegativeInfinity(max))
            {
                // Every logit is −∞: log-sum-exp is −∞ and both softmax and log-softmax are NaN, as in PyTorch.
                Result = max;
                var nan = new Fill<TV> { Value = float.NaN };
                Elementwise.Run<TV, Fill<TV>>(ref nan, null, null, null, Y, N);
                return;
            }
            var exp = new ExpShifted<TV> { Max = max };
            Elementwise.Run<TV, ExpShifted<TV>>(ref exp, X, null, null, Y, N);
            var terms = new SumTerms<TV> { A = Y };
            LaneSums.Run<TV, SumTerms<TV>>(terms, N, out double sum, out _, out _);
            double lse = max + ScalarMath.Log(sum);
            Result = lse;
            if (Kind == RowKind.Softmax)
            {
                var scale = new ScaleBy<TV> { Factor = (float)(1.0 / sum) };
                Elementwise.Run<TV, ScaleBy<TV>>(ref scale, null, null, null, Y, N);
            }
            else
            {
                var shift = new Subtract<TV> { Value = (float)lse };
                Elementwise.Run<TV, Subtract<TV>>(ref shift, X, null, null, Y, N);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static float Max<TV>(float* x, int n) where TV : unmanaged, IFloatVector<TV>
        {
            int w = TV.Count;
            var m = TV.Create(float.NegativeInfinity);
            int i = 0;
            for (; i <= n - w; i += w) m = TV.Max(m, TV.Load(x + i));
            float best = TV.MaxAcross(m);
            for (; i < n; i++) best = MathF.Max(best, x[i]);
            return best;
        }
    }

    private struct Fill<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float Value;

        public static int Reads => 0;
        public static int Writes => 0b1000;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = TV.Create(Value);
    }

    private struct ExpShifted<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float Max;

        public static int Reads => 0b0001;
        public static int Writes => 0b1000;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = FloatMath<TV>.Exp(s0 - TV.Create(Max));
    }

    private struct ScaleBy<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float Factor;

        public static int Reads => 0b1000;
        public static int Writes => 0b1000;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 *= TV.Create(Factor);
    }

    private struct Subtract<TV> : IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float Value;

        public static int Reads => 0b0001;
        public static int Writes => 0b1000;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3) => s3 = s0 - TV.Create(Value);
    }

    private struct SumTerms<TV> : ISumTerms<SumTerms<TV>, TV> where TV : unmanaged, IFloatVector<TV>
    {
        public float* A;

        public static int Sums => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly Sums3<TV> Add(nint i, Sums3<TV> s) => new() { A = s.A + TV.Load(A + i) };

        public readonly SumTerms<TV> Padded(nint start, int count, float* scratch) => new() { A = LaneSums.Pad(A, start, count, scratch, 0f) };
    }

    /// <summary>dx = (dy − shift)·y.</summary>
    private struct ShiftThenScale : ElementwiseKernels.IBinaryOp
    {
        public float Shift;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV dy, TV y) where TV : unmanaged, IFloatVector<TV> => (dy - TV.Create(Shift)) * y;
    }

    /// <summary>dx = exp(y)·scale + dy, rounded once.</summary>
    private struct ExpScaledFrom : ElementwiseKernels.IBinaryOp
    {
        public float Scale;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Invoke<TV>(TV y, TV dy) where TV : unmanaged, IFloatVector<TV> => TV.Fma(FloatMath<TV>.Exp(y), TV.Create(Scale), dy);
    }
}
