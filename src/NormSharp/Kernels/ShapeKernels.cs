using System.Numerics.Tensors;
using System.Runtime.Intrinsics.X86;
using NormSharp.Errors;

namespace NormSharp.Kernels;

/// <summary>
/// Data movement for shape operations on dense row-major tensors: permutations of dimensions (with a
/// cache-blocked path for the common swap of the last two) and strided block copies for concatenation and
/// narrowing along any dimension.
/// </summary>
public static class ShapeKernels
{
    private const int Tile = 16;

    /// <summary>
    /// dst = src with its dimensions reordered: dimension i of the result is dimension <paramref name="perm"/>[i]
    /// of <paramref name="srcShape"/> (PyTorch's <c>permute</c>, materialized).
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="perm"/> is not a permutation of the dimensions, or a span does not hold the shape.</exception>
    public static void Permute(ReadOnlySpan<float> src, ReadOnlySpan<int> srcShape, ReadOnlySpan<int> perm, Span<float> dst)
    {
        int rank = srcShape.Length;
        CheckPermutation(perm, rank, srcShape);
        long n = Tensors.Tensor.CheckedLength(srcShape);
        if (src.Length != n || dst.Length != n)
            throw new ShapeMismatchException($"Permute: shape {ShapeMismatchException.Format(srcShape)} holds {n} elements; source has {src.Length}, destination {dst.Length}.");
        if (n == 0) return;

        // Collapse: drop size-1 dimensions, then merge result dimensions that are consecutive in the source.
        Span<int> keep = stackalloc int[rank];
        int k = 0;
        foreach (int p in perm)
            if (srcShape[p] != 1) keep[k++] = p;
        Span<int> groupStart = stackalloc int[k]; // source dimension each merged group starts at
        Span<int> groupSize = stackalloc int[k];
        int g = 0;
        for (int i = 0; i < k; i++)
        {
            if (g > 0 && AdjacentInMemory(srcShape, keep[i - 1], keep[i]))
                groupSize[g - 1] *= srcShape[keep[i]];
            else
            {
                groupStart[g] = keep[i];
                groupSize[g] = srcShape[keep[i]];
                g++;
            }
        }
        // Order of the groups in the source gives the collapsed source shape and permutation.
        Span<int> order = stackalloc int[g]; // order[j] = result position of the j-th group in source order
        for (int j = 0; j < g; j++) order[j] = j;
        var starts = groupStart[..g];
        for (int a = 1; a < g; a++) // insertion sort by source position; g is tiny
            for (int b = a; b > 0 && starts[order[b]] < starts[order[b - 1]]; b--)
                (order[b], order[b - 1]) = (order[b - 1], order[b]);
        Span<int> cShape = stackalloc int[g];
        Span<int> cPerm = stackalloc int[g]; // result dim i = collapsed source dim cPerm[i]
        for (int j = 0; j < g; j++)
        {
            cShape[j] = groupSize[order[j]];
            cPerm[order[j]] = j;
        }

        bool identity = true;
        for (int i = 0; i < g; i++) identity &= cPerm[i] == i;
        if (identity)
        {
            src.CopyTo(dst);
            return;
        }
        bool lastTwoSwapped = g >= 2 && cPerm[g - 1] == g - 2 && cPerm[g - 2] == g - 1;
        for (int i = 0; lastTwoSwapped && i < g - 2; i++) lastTwoSwapped = cPerm[i] == i;
        if (lastTwoSwapped)
        {
            int rows = cShape[g - 2], cols = cShape[g - 1];
            TransposeLastTwo(src, dst, (int)(n / ((long)rows * cols)), rows, cols);
            return;
        }

        Span<int> srcStride = stackalloc int[g];
        int s = 1;
        for (int d = g - 1; d >= 0; d--) { srcStride[d] = s; s *= cShape[d]; }
        Span<int> outSizes = stackalloc int[g];
        Span<int> outStrides = stackalloc int[g]; // source stride of each result dimension
        for (int i = 0; i < g; i++) { outSizes[i] = cShape[cPerm[i]]; outStrides[i] = srcStride[cPerm[i]]; }
        int inner = outSizes[g - 1], innerStride = outStrides[g - 1];
        Span<int> index = stackalloc int[g - 1];
        index.Clear();
        int off = 0;
        for (int o = 0; o < dst.Length; o += inner)
        {
            var row = dst.Slice(o, inner);
            if (innerStride == 1) src.Slice(off, inner).CopyTo(row);
            else for (int j = 0, at = off; j < inner; j++, at += innerStride) row[j] = src[at];
            BroadcastKernels.Advance(index, outSizes[..(g - 1)], outStrides[..(g - 1)], ref off);
        }
    }

    /// <summary>dst[b, j, i] = src[b, i, j] for a batch of [rows, cols] matrices, in cache-sized tiles.</summary>
    /// <exception cref="ShapeMismatchException">The sizes do not fit the spans.</exception>
    public static unsafe void TransposeLastTwo(ReadOnlySpan<float> src, Span<float> dst, int batch, int rows, int cols)
    {
        long n = (long)batch * rows * cols;
        if (batch < 0 || rows < 0 || cols < 0 || src.Length != n || dst.Length != n)
            throw new ShapeMismatchException($"TransposeLastTwo: [{batch}, {rows}, {cols}] does not fit a source of {src.Length} and a destination of {dst.Length}.");
        if (n == 0) return;
        int m = rows * cols;
        fixed (float* s0 = src)
        fixed (float* d0 = dst)
        {
            for (int b = 0; b < batch; b++)
            {
                float* s = s0 + (long)b * m, d = d0 + (long)b * m;
                for (int i0 = 0; i0 < rows; i0 += Tile)
                {
                    int i1 = Math.Min(rows, i0 + Tile);
                    for (int j0 = 0; j0 < cols; j0 += Tile)
                    {
                        int j1 = Math.Min(cols, j0 + Tile);
                        int i = i0;
                        if (Sse.IsSupported)
                            for (; i + 4 <= i1; i += 4)
                            {
                                int j = j0;
                                for (; j + 4 <= j1; j += 4) Transpose4x4(s + (long)i * cols + j, cols, d + (long)j * rows + i, rows);
                                for (; j < j1; j++)
                                    for (int k = 0; k < 4; k++) d[(long)j * rows + i + k] = s[(long)(i + k) * cols + j];
                            }
                        for (; i < i1; i++)
                        {
                            float* sr = s + (long)i * cols;
                            for (int j = j0; j < j1; j++) d[(long)j * rows + i] = sr[j];
                        }
                    }
                }
            }
        }
    }

    /// <summary>Transposes one 4×4 block with SSE unpacks (the rows of src become the columns of dst).</summary>
    private static unsafe void Transpose4x4(float* src, int srcStride, float* dst, int dstStride)
    {
        var r0 = Sse.LoadVector128(src);
        var r1 = Sse.LoadVector128(src + srcStride);
        var r2 = Sse.LoadVector128(src + 2 * srcStride);
        var r3 = Sse.LoadVector128(src + 3 * srcStride);
        var t0 = Sse.UnpackLow(r0, r1);  // a0 b0 a1 b1
        var t1 = Sse.UnpackLow(r2, r3);  // c0 d0 c1 d1
        var t2 = Sse.UnpackHigh(r0, r1); // a2 b2 a3 b3
        var t3 = Sse.UnpackHigh(r2, r3); // c2 d2 c3 d3
        Sse.Store(dst, Sse.MoveLowToHigh(t0, t1));
        Sse.Store(dst + dstStride, Sse.MoveHighToLow(t1, t0));
        Sse.Store(dst + 2 * dstStride, Sse.MoveLowToHigh(t2, t3));
        Sse.Store(dst + 3 * dstStride, Sse.MoveHighToLow(t3, t2));
    }

    /// <summary>Copies <paramref name="rows"/> runs of <paramref name="width"/> elements between buffers with different row strides.</summary>
    /// <exception cref="ShapeMismatchException">A run would fall outside its buffer.</exception>
    public static void CopyBlocks(ReadOnlySpan<float> src, int srcStride, Span<float> dst, int dstStride, int rows, int width)
    {
        CheckBlocks("CopyBlocks", src.Length, srcStride, dst.Length, dstStride, rows, width);
        for (int r = 0; r < rows; r++) src.Slice(r * srcStride, width).CopyTo(dst.Slice(r * dstStride, width));
    }

    /// <summary>Adds <paramref name="rows"/> runs of <paramref name="width"/> elements of src into dst, with different row strides.</summary>
    /// <exception cref="ShapeMismatchException">A run would fall outside its buffer.</exception>
    public static void AddBlocks(ReadOnlySpan<float> src, int srcStride, Span<float> dst, int dstStride, int rows, int width)
    {
        CheckBlocks("AddBlocks", src.Length, srcStride, dst.Length, dstStride, rows, width);
        for (int r = 0; r < rows; r++)
        {
            var d = dst.Slice(r * dstStride, width);
            TensorPrimitives.Add(d, src.Slice(r * srcStride, width), d);
        }
    }

    private static void CheckBlocks(string op, int srcLength, int srcStride, int dstLength, int dstStride, int rows, int width)
    {
        if (rows < 0 || width < 0 || srcStride < width || dstStride < width
            || rows > 0 && ((long)(rows - 1) * srcStride + width > srcLength || (long)(rows - 1) * dstStride + width > dstLength))
            throw new ShapeMismatchException($"{op}: {rows} runs of {width} with strides {srcStride} and {dstStride} do not fit buffers of {srcLength} and {dstLength}.");
    }

    /// <summary>Source dimension b follows a with only size-1 dimensions between, so the two merge into one.</summary>
    private static bool AdjacentInMemory(ReadOnlySpan<int> shape, int a, int b)
    {
        if (b <= a) return false;
        for (int d = a + 1; d < b; d++)
            if (shape[d] != 1) return false;
        return true;
    }

    private static void CheckPermutation(ReadOnlySpan<int> perm, int rank, ReadOnlySpan<int> shape)
    {
        if (perm.Length != rank)
            throw new ShapeMismatchException($"Permute: {perm.Length} dimensions given for a tensor of shape {ShapeMismatchException.Format(shape)}.");
        Span<bool> seen = stackalloc bool[rank];
        foreach (int p in perm)
        {
            if ((uint)p >= (uint)rank || seen[p])
                throw new ShapeMismatchException($"Permute: {ShapeMismatchException.Format(perm)} is not a permutation of the {rank} dimensions of {ShapeMismatchException.Format(shape)}.");
            seen[p] = true;
        }
    }
}
