using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NormSharp.Errors;
using NormSharp.Threading;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// A residual connection followed by a normalization, h = x + residual and y = norm(h), as the Transformer blocks
/// use it (LayerNorm or RMSNorm), fused: rows are taken in tiles small enough to stay in L1, and each tile is
/// summed and normalized before the next is read, so x and the residual are read once and h and y written once.
/// The backward pass likewise adds the normalization's input gradient to the gradient already flowing along the
/// residual stream in the same pass (<c>accumulate</c>). The normalization itself is the library's one row
/// normalization (<see cref="LayerNormKernels"/>, <see cref="RmsNormKernels"/>) applied per tile.
/// </summary>
/// <remarks>
/// Parameter gradients are summed per tile and the tiles added in order, so results do not depend on the number
/// of threads. An empty weight or bias span means none; an empty dweight or dbias span means not wanted.
/// </remarks>
public static unsafe class ResidualNormKernels
{
    /// <summary>Rows per tile: a tile of each of the four operands (about 8 KB) stays in L1.</summary>
    private static int TileRows(int cols) => Math.Max(1, 2048 / Math.Max(1, cols));

    /// <summary>sum = x + residual, y = LayerNorm(sum), keeping mean and rstd per row for the backward.</summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match rows and cols.</exception>
    /// <exception cref="InvalidValueException">eps is not a positive finite number.</exception>
    public static void LayerNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> sum, Span<float> y, Span<float> mean, Span<float> rstd, int rows, int cols, float eps)
    {
        const string Op = "AddLayerNorm";
        CheckForward(Op, x.Length, residual.Length, sum.Length, y.Length, rstd.Length, weight.Length, rows, cols, eps);
        if (mean.Length < rows) throw new ShapeMismatchException($"{Op}: mean holds {mean.Length} floats for {rows} rows.");
        if (bias.Length != 0 && bias.Length != cols) throw new ShapeMismatchException($"{Op}: bias has {bias.Length} elements for rows of {cols}.");
        Forward(true, x, residual, weight, bias, sum, y, mean, rstd, rows, cols, eps);
    }

    /// <summary>sum = x + residual, y = RMSNorm(sum), keeping 1/rms per row for the backward.</summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match rows and cols.</exception>
    /// <exception cref="InvalidValueException">eps is not a positive finite number.</exception>
    public static void RmsNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> weight,
        Span<float> sum, Span<float> y, Span<float> rrms, int rows, int cols, float eps)
    {
        CheckForward("AddRmsNorm", x.Length, residual.Length, sum.Length, y.Length, rrms.Length, weight.Length, rows, cols, eps);
        Forward(false, x, residual, weight, default, sum, y, default, rrms, rows, cols, eps);
    }

    /// <summary>
    /// The gradient with respect to the sum of a fused <see cref="LayerNormForward"/>: written into
    /// <paramref name="dsum"/>, or added to what it holds when <paramref name="accumulate"/> (the gradient already
    /// reaching the sum along the residual stream). dweight and dbias are overwritten when wanted.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match rows and cols.</exception>
    public static void LayerNormBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> sum, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        Span<float> dsum, bool accumulate, Span<float> dweight, Span<float> dbias, int rows, int cols)
    {
        const string Op = "AddLayerNormBackward";
        CheckBackward(Op, dy.Length, sum.Length, dsum.Length, rstd.Length, weight.Length, dweight.Length, rows, cols);
        if (mean.Length < rows) throw new ShapeMismatchException($"{Op}: mean holds {mean.Length} floats for {rows} rows.");
        if (dbias.Length != 0 && dbias.Length != cols) throw new ShapeMismatchException($"{Op}: dbias has {dbias.Length} elements for rows of {cols}.");
        Backward(true, dy, sum, weight, mean, rstd, dsum, accumulate, dweight, dbias, rows, cols);
    }

    /// <summary>The gradient with respect to the sum of a fused <see cref="RmsNormForward"/>; see <see cref="LayerNormBackward"/>.</summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match rows and cols.</exception>
    public static void RmsNormBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> sum, ReadOnlySpan<float> weight, ReadOnlySpan<float> rrms,
        Span<float> dsum, bool accumulate, Span<float> dweight, int rows, int cols)
    {
        CheckBackward("AddRmsNormBackward", dy.Length, sum.Length, dsum.Length, rrms.Length, weight.Length, dweight.Length, rows, cols);
        Backward(false, dy, sum, weight, default, rrms, dsum, accumulate, dweight, default, rows, cols);
    }

    private static void CheckForward(string op, int x, int residual, int sum, int y, int stats, int weight, int rows, int cols, float eps)
    {
        CheckSizes(op, rows, cols);
        if (!(eps > 0f) || float.IsInfinity(eps)) throw new InvalidValueException(nameof(eps), $"{op}: eps must be a positive finite number, got {eps}.");
        long n = (long)rows * cols;
        if (x != n || residual != n || sum != n || y != n)
            throw new ShapeMismatchException($"{op}: x ({x}), residual ({residual}), sum ({sum}) and y ({y}) must each hold {rows}×{cols} = {n} floats.");
        if (stats < rows) throw new ShapeMismatchException($"{op}: the per-row statistics hold {stats} floats for {rows} rows.");
        if (weight != 0 && weight != cols) throw new ShapeMismatchException($"{op}: weight has {weight} elements for rows of {cols}.");
    }

    private static void CheckBackward(string op, int dy, int sum, int dsum, int stats, int weight, int dweight, int rows, int cols)
    {
        CheckSizes(op, rows, cols);
        long n = (long)rows * cols;
        if (dy != n || sum != n || dsum != n)
            throw new ShapeMismatchException($"{op}: dy ({dy}), sum ({sum}) and dsum ({dsum}) must each hold {rows}×{cols} = {n} floats.");
        if (stats < rows) throw new ShapeMismatchException($"{op}: the per-row statistics hold {stats} floats for {rows} rows.");
        if (weight != 0 && weight != cols) throw new ShapeMismatchException($"{op}: weight has {weight} elements for rows of {cols}.");
        if (dweight != 0 && dweight != cols) throw new ShapeMismatchException($"{op}: dweight has {dweight} elements for rows of {cols}.");
    }

    private static void CheckSizes(string op, int rows, int cols)
    {
        if (rows < 0 || cols < 0) throw new ShapeMismatchException($"{op}: rows and cols must not be negative, got {rows} and {cols}.");
        if ((long)rows * cols > Array.MaxLength) throw new ShapeMismatchException($"{op}: {rows}×{cols} elements exceed the largest buffer.");
    }

    private static void Forward(bool centered, ReadOnlySpan<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> sum, Span<float> y, Span<float> mean, Span<float> rstd, int rows, int cols, float eps)
    {
        if (rows == 0) return;
        int tile = TileRows(cols), tiles = (rows + tile - 1) / tile;
        fixed (float* px = x, pr = residual, pw = weight, pb = bias, ps = sum, py = y, pm = mean, pd = rstd)
        {
            var body = new ForwardBody
            {
                Centered = centered, X = px, R = pr, W = pw, B = pb, S = ps, Y = py, Mean = pm, Rstd = pd,
                Rows = rows, Cols = cols, Tile = tile, Eps = eps, HasWeight = !weight.IsEmpty, HasBias = !bias.IsEmpty,
            };
            ParallelFor.Run(tiles, Math.Max(1, RowNormalization.Grain(cols) / tile), ref body);
        }
    }

    private static void Backward(bool centered, ReadOnlySpan<float> dy, ReadOnlySpan<float> sum, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        Span<float> dsum, bool accumulate, Span<float> dweight, Span<float> dbias, int rows, int cols)
    {
        dweight.Clear();
        dbias.Clear();
        if (rows == 0 || cols == 0) return;
        int tile = TileRows(cols), tiles = (rows + tile - 1) / tile;
        bool grads = !dweight.IsEmpty || !dbias.IsEmpty;
        // Per tile: Σ dy·x̂ then Σ dy, cols each; the tiles are added in order afterwards.
        float[] partials = Partials.Get(grads ? 2L * tiles * cols : 0);
        fixed (float* pdy = dy, ps = sum, pw = weight, pm = mean, pr = rstd, pds = dsum, pp = partials)
        {
            var body = new BackwardBody
            {
                Centered = centered, Dy = pdy, S = ps, W = pw, Mean = pm, Rstd = pr, DS = pds, Partials = grads ? pp : null,
                Rows = rows, Cols = cols, Tile = tile, Accumulate = accumulate, HasWeight = !weight.IsEmpty,
            };
            ParallelFor.Run(tiles, Math.Max(1, RowNormalization.Grain(cols) / tile), ref body);
        }
        for (int t = 0; t < tiles && grads; t++)
        {
            if (!dweight.IsEmpty) ElementwiseKernels.AddInPlace(dweight, partials.AsSpan(2 * t * cols, cols));
            if (!dbias.IsEmpty) ElementwiseKernels.AddInPlace(dbias, partials.AsSpan((2 * t + 1) * cols, cols));
        }
    }

    private struct ForwardBody : IParallelBody
    {
        public bool Centered, HasWeight, HasBias;
        public float* X, R, W, B, S, Y, Mean, Rstd;
        public int Rows, Cols, Tile;
        public float Eps;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int chunk, int start, int end)
        {
            int cols = Cols;
            var w = HasWeight ? new ReadOnlySpan<float>(W, cols) : default;
            var b = HasBias ? new ReadOnlySpan<float>(B, cols) : default;
            for (int t = start; t < end; t++)
            {
                int r0 = t * Tile, rows = Math.Min(Tile, Rows - r0);
                long off = (long)r0 * cols;
                int n = rows * cols;
                var s = new Span<float>(S + off, n);
                ElementwiseKernels.Add(new ReadOnlySpan<float>(X + off, n), new ReadOnlySpan<float>(R + off, n), s);
                var y = new Span<float>(Y + off, n);
                var rstd = new Span<float>(Rstd + r0, rows);
                if (Centered) LayerNormKernels.Forward(s, w, b, y, new Span<float>(Mean + r0, rows), rstd, rows, cols, Eps);
                else RmsNormKernels.Forward(s, w, y, rstd, rows, cols, Eps);
            }
        }
    }

    private struct BackwardBody : IParallelBody
    {
        public bool Centered, Accumulate, HasWeight;
        public float* Dy, S, W, Mean, Rstd, DS, Partials;
        public int Rows, Cols, Tile;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int chunk, int start, int end)
        {
            int cols = Cols;
            var w = HasWeight ? new ReadOnlySpan<float>(W, cols) : default;
            // The tile's gradient goes to scratch first only when it must be added to what dsum holds.
            float* scratch = Accumulate ? TileScratch.Get(Tile * cols) : null;
            for (int t = start; t < end; t++)
            {
                int r0 = t * Tile, rows = Math.Min(Tile, Rows - r0);
                long off = (long)r0 * cols;
                int n = rows * cols;
                var dy = new ReadOnlySpan<float>(Dy + off, n);
                var s = new ReadOnlySpan<float>(S + off, n);
                var rstd = new ReadOnlySpan<float>(Rstd + r0, rows);
                var ds = new Span<float>(DS + off, n);
                var dx = Accumulate ? new Span<float>(scratch, n) : ds;
                var dw = Partials != null ? new Span<float>(Partials + 2L * t * cols, cols) : default;
                var db = Partials != null && Centered ? new Span<float>(Partials + (2L * t + 1) * cols, cols) : default;
                if (Centered) LayerNormKernels.Backward(dy, s, w, new ReadOnlySpan<float>(Mean + r0, rows), rstd, dx, dw, db, rows, cols);
                else RmsNormKernels.Backward(dy, s, w, rstd, dx, dw, rows, cols);
                if (Accumulate) ElementwiseKernels.AddInPlace(ds, dx);
            }
        }
    }

    /// <summary>Per-thread space for one tile's gradient (pinned, grown once).</summary>
    private static class TileScratch
    {
        [ThreadStatic] private static float[]? _buffer;

        public static float* Get(int floats)
        {
            var b = _buffer;
            if (b is null || b.Length < floats) _buffer = b = GC.AllocateUninitializedArray<float>(Math.Max(floats, 1024), pinned: true);
            return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(b));
        }
    }

    /// <summary>The dispatching thread's per-tile partial sums of the parameter gradients (grown once).</summary>
    private static class Partials
    {
        [ThreadStatic] private static float[]? _buffer;

        public static float[] Get(long floats)
        {
            if (floats > Array.MaxLength) throw new OutOfMemoryException($"ResidualNorm: {floats} floats of partial sums exceed the largest array.");
            var b = _buffer;
            if (b is null || b.Length < floats) _buffer = b = new float[Math.Max(floats, 1024)];
            return b;
        }
    }
}
