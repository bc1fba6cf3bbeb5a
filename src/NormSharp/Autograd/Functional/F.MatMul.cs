using NormSharp.Errors;
using NormSharp.Kernels;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// Matrix product with PyTorch's <c>matmul</c> semantics: [m, k]·[k, n] for matrices; a 1-D operand is a row
    /// (first) or column (second) vector whose added dimension is removed from the result (1-D·1-D is a dot product,
    /// a scalar); operands of rank ≥ 3 are stacks of matrices whose leading (batch) dimensions broadcast.
    /// With <paramref name="transposeB"/>, b's last two dimensions are read swapped ([..., n, k]), without a copy.
    /// When b is a single matrix, a's batches are folded into one large product.
    /// </summary>
    /// <exception cref="ShapeMismatchException">An operand is a scalar, the inner dimensions differ, or the batch dimensions do not broadcast.</exception>
    /// <exception cref="InvalidValueException"><paramref name="transposeB"/> with a 1-D b.</exception>
    public static Variable MatMul(Variable a, Variable b, bool transposeB = false)
    {
        Tape.CheckAlive(a, "MatMul");
        Tape.CheckAlive(b, "MatMul");
        int ra = a.Value.Rank, rb = b.Value.Rank;
        if (ra == 0 || rb == 0)
            throw new ShapeMismatchException($"MatMul: both operands need at least one dimension, got {ShapeMismatchException.Format(a.Shape)} and {ShapeMismatchException.Format(b.Shape)}.");
        if (ra == 1 || rb == 1) return MatMulWithVector(a, b, transposeB);

        var sa = a.Shape;
        var sb = b.Shape;
        int m = sa[^2], k = sa[^1];
        int kb = transposeB ? sb[^1] : sb[^2];
        int n = transposeB ? sb[^2] : sb[^1];
        if (k != kb)
            throw new ShapeMismatchException($"MatMul: inner dimensions differ: {ShapeMismatchException.Format(sa)} times {ShapeMismatchException.Format(sb)}{(transposeB ? "ᵀ" : "")} ({k} against {kb}).");
        Span<int> shape = stackalloc int[Math.Max(ra, rb)];
        int batchRank = BroadcastKernels.BroadcastShape(sa[..^2], sb[..^2], shape, "MatMul");
        shape[batchRank] = m;
        shape[batchRank + 1] = n;
        var tape = Tape.Current;
        var y = tape.Allocate(shape);
        if (rb == 2)
        {
            // b is one matrix: a's batches are rows of one product.
            int rows = RowsOf(sa);
            Gemm.Multiply(false, transposeB, rows, n, k, 1f, a.Value.Span, b.Value.Span, 0f, y.Span);
        }
        else
        {
            var pairs = new BatchPairs(shape[..batchRank], sa[..^2], sb[..^2], stackalloc int[5 * batchRank]);
            int am = m * k, bm = k * n, ym = m * n;
            var av = a.Value.Span;
            var bv = b.Value.Span;
            var yv = y.Span;
            for (int i = 0; i < pairs.Count; i++)
            {
                Gemm.Multiply(false, transposeB, m, n, k, 1f, av.Slice(pairs.A * am, am), bv.Slice(pairs.B * bm, bm), 0f, yv.Slice(i * ym, ym));
                pairs.Next();
            }
        }
        if (!Tape.NeedsGrad(a, b)) return tape.Wrap(y);
        var node = tape.RentNode<MatMulNode>();
        node.A = a;
        node.B = b;
        node.TransposeB = transposeB;
        (node.M, node.K, node.N) = (m, k, n);
        return tape.Record(node, y);
    }

    /// <summary>The product of all dimensions but the last: the row count of a stack of matrices read as one.</summary>
    private static int RowsOf(ReadOnlySpan<int> shape)
    {
        long rows = 1;
        foreach (int d in shape[..^1]) rows *= d;
        return (int)rows;
    }

    /// <summary>A 1-D operand becomes a [1, k] row or [k, 1] column, and that dimension leaves the result again.</summary>
    private static Variable MatMulWithVector(Variable a, Variable b, bool transposeB)
    {
        int ra = a.Value.Rank, rb = b.Value.Rank;
        if (transposeB && rb == 1)
            throw new InvalidValueException(nameof(transposeB), $"MatMul: transposeB needs a b with at least two dimensions, got {ShapeMismatchException.Format(b.Shape)}.");
        var a2 = ra == 1 ? Reshape(a, 1, a.Shape[0]) : a;
        var b2 = rb == 1 ? Reshape(b, b.Shape[0], 1) : b;
        var r = MatMul(a2, b2, transposeB);
        var rs = r.Shape;
        Span<int> shape = stackalloc int[rs.Length];
        int n = 0;
        for (int i = 0; i < rs.Length; i++)
        {
            if (ra == 1 && i == rs.Length - 2) continue;
            if (rb == 1 && i == rs.Length - 1) continue;
            shape[n++] = rs[i];
        }
        return Reshape(r, shape[..n]);
    }

    /// <summary>Walks the broadcast batch dimensions, giving for each result matrix the index of the a and b matrices it reads.</summary>
    private ref struct BatchPairs
    {
        private readonly Span<int> _sizes, _strideA, _strideB, _indexA, _indexB;
        private readonly int _dims;

        /// <summary><paramref name="scratch"/> holds 5·rank of <paramref name="batch"/> ints.</summary>
        public BatchPairs(ReadOnlySpan<int> batch, ReadOnlySpan<int> aBatch, ReadOnlySpan<int> bBatch, Span<int> scratch)
        {
            int r = batch.Length;
            _sizes = scratch[..r];
            _strideA = scratch.Slice(r, r);
            _strideB = scratch.Slice(2 * r, r);
            _indexA = scratch.Slice(3 * r, r);
            _indexB = scratch.Slice(4 * r, r);
            _dims = BroadcastKernels.Collapse(batch, aBatch, bBatch, _sizes, _strideA, _strideB);
            _indexA.Clear();
            _indexB.Clear();
            long count = 1;
            foreach (int d in batch) count *= d;
            Count = (int)count;
            long countA = 1, countB = 1;
            foreach (int d in aBatch) countA *= d;
            foreach (int d in bBatch) countB *= d;
            AIsBroadcast = countA != count;
            BIsBroadcast = countB != count;
        }

        /// <summary>Number of result matrices.</summary>
        public int Count { get; }

        /// <summary>The a matrix of the current result matrix.</summary>
        public int A;

        /// <summary>The b matrix of the current result matrix.</summary>
        public int B;

        /// <summary>True when some a matrix serves several results (its gradient adds up over them).</summary>
        public bool AIsBroadcast { get; }

        /// <summary>True when some b matrix serves several results.</summary>
        public bool BIsBroadcast { get; }

        /// <summary>Moves to the next result matrix.</summary>
        public void Next()
        {
            BroadcastKernels.Advance(_indexA[.._dims], _sizes[.._dims], _strideA[.._dims], ref A);
            BroadcastKernels.Advance(_indexB[.._dims], _sizes[.._dims], _strideB[.._dims], ref B);
        }
    }

    private sealed class MatMulNode : Node
    {
        public Variable A = null!, B = null!;
        public bool TransposeB;
        public int M, K, N;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!.Span;
            bool tB = TransposeB;
            if (B.Value.Rank == 2)
            {
                int rows = RowsOf(A.Shape);
                // dA = dY·op(B)ᵀ
                if (tape.GradientForAccumulatingKernel(A, out bool accA) is { } da)
                    Gemm.Multiply(false, !tB, rows, K, N, 1f, dy, B.Value.Span, accA ? 1f : 0f, da.Span);
                if (tape.GradientForAccumulatingKernel(B, out bool accB) is { } db)
                {
                    if (tB) Gemm.Multiply(true, false, N, K, rows, 1f, dy, A.Value.Span, accB ? 1f : 0f, db.Span); // B is [n, k]: dB = dYᵀ·A
                    else Gemm.Multiply(true, false, K, N, rows, 1f, A.Value.Span, dy, accB ? 1f : 0f, db.Span); // B is [k, n]: dB = Aᵀ·dY
                }
                return;
            }
            var ys = Output.Value.Shape;
            int batchRank = ys.Length - 2;
            int am = M * K, bm = K * N, ym = M * N;
            var gA = tape.GradientForAccumulatingKernel(A, out bool accumA);
            var gB = tape.GradientForAccumulatingKernel(B, out bool accumB);
            var pairs = new BatchPairs(ys[..batchRank], A.Shape[..^2], B.Shape[..^2], stackalloc int[5 * batchRank]);
            // A matrix that serves several results gathers their gradients: start it from zero and always add.
            if (gA is not null && pairs.AIsBroadcast && !accumA) { gA.Span.Clear(); accumA = true; }
            if (gB is not null && pairs.BIsBroadcast && !accumB) { gB.Span.Clear(); accumB = true; }
            var av = A.Value.Span;
            var bv = B.Value.Span;
            for (int i = 0; i < pairs.Count; i++)
            {
                var dyi = dy.Slice(i * ym, ym);
                if (gA is not null)
                    Gemm.Multiply(false, !tB, M, K, N, 1f, dyi, bv.Slice(pairs.B * bm, bm), accumA ? 1f : 0f, gA.Span.Slice(pairs.A * am, am));
                if (gB is not null)
                {
                    var dbi = gB.Span.Slice(pairs.B * bm, bm);
                    if (tB) Gemm.Multiply(true, false, N, K, M, 1f, dyi, av.Slice(pairs.A * am, am), accumB ? 1f : 0f, dbi);
                    else Gemm.Multiply(true, false, K, N, M, 1f, av.Slice(pairs.A * am, am), dyi, accumB ? 1f : 0f, dbi);
                }
                pairs.Next();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            A = B = null!;
        }
    }
}
