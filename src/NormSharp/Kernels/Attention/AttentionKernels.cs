using System.Runtime.CompilerServices;
using NormSharp.Errors;
using NormSharp.Threading;

namespace NormSharp.Kernels.Attention;

/// <summary>
/// Scaled dot-product attention, softmax(scale·Q·Kᵀ + mask)·V per batch entry and head, forward and backward,
/// without ever holding a head's full score matrix: queries are taken in blocks of <see cref="BlockRows"/> and
/// keys in blocks of <see cref="BlockCols"/>, and the softmax is formed as it streams (a running maximum and sum
/// per query rescale what was accumulated so far; Milakov &amp; Gimelshein 2018, Dao et al. 2022). The forward
/// pass keeps one log-sum-exp per query; the backward pass recomputes each score block from it and never stores
/// more than a few blocks per thread either. Working memory is O(block²) per thread whatever the length.
/// </summary>
/// <remarks>
/// <para>Operands are read and written in place through <see cref="AttentionLayout"/> strides (packed
/// projections, either sequence layout), and the block products run on <see cref="Gemm"/>. Work is split over
/// (batch, head, query block) in the forward pass and over (batch, head) in the backward pass; each piece is
/// computed by one thread in a fixed order, so results do not depend on the number of threads.</para>
/// <para>Outputs must not share memory with inputs. Query positions with every key masked cannot occur: a
/// causal mask is aligned at the top-left corner, so query i always sees key 0.</para>
/// </remarks>
public static unsafe class AttentionKernels
{
    /// <summary>Queries per block.</summary>
    public const int BlockRows = 64;

    /// <summary>Keys per block.</summary>
    public const int BlockCols = 64;

    /// <summary>
    /// O = softmax(scale·Q·Kᵀ + mask)·V, and per query the log-sum-exp of its scaled, masked scores
    /// (<paramref name="logSumExp"/>, [Batch, Heads, QueryTime]) for <see cref="Backward"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A size is negative, or a span is too short for its layout.</exception>
    /// <exception cref="InvalidValueException">The scale is not finite or the dropout rate is outside [0, 1].</exception>
    public static void Forward(in AttentionShape shape, in AttentionOptions options,
        ReadOnlySpan<float> q, AttentionLayout queryLayout, ReadOnlySpan<float> k, ReadOnlySpan<float> v, AttentionLayout keyLayout,
        Span<float> output, AttentionLayout outputLayout, Span<float> logSumExp)
    {
        const string Op = "Attention";
        Check(Op, shape, options);
        CheckOperand(Op, "q", q.Length, queryLayout, shape, shape.QueryTime);
        CheckOperand(Op, "k", k.Length, keyLayout, shape, shape.KeyTime);
        CheckOperand(Op, "v", v.Length, keyLayout, shape, shape.KeyTime);
        CheckOperand(Op, "output", output.Length, outputLayout, shape, shape.QueryTime);
        if (logSumExp.Length < shape.LogSumExpLength)
            throw new ShapeMismatchException($"{Op}: logSumExp holds {logSumExp.Length} floats, fewer than the {shape.LogSumExpLength} of [{shape.Batch}, {shape.Heads}, {shape.QueryTime}].");
        if (shape.Batch == 0 || shape.Heads == 0 || shape.QueryTime == 0 || shape.HeadDim == 0) return;
        if (shape.KeyTime == 0)
            throw new ShapeMismatchException($"{Op}: {shape.QueryTime} queries attend to no keys; softmax over an empty set is undefined.");

        fixed (float* pq = q, pk = k, pv = v, po = output, pl = logSumExp)
        {
            int queryBlocks = (shape.QueryTime + BlockRows - 1) / BlockRows;
            var body = new ForwardBody
            {
                Shape = shape, Options = options, Q = pq, K = pk, V = pv, O = po, Lse = pl,
                QueryLayout = queryLayout, KeyLayout = keyLayout, OutputLayout = outputLayout, QueryBlocks = queryBlocks,
            };
            int count = shape.Batch * shape.Heads * queryBlocks;
            ParallelFor.Run(count, Grain(shape, BlockRows), ref body);
        }
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/> given dO (in the output's layout): dq in the queries' layout and dk, dv in
    /// the keys' layout, all overwritten. <paramref name="output"/> and <paramref name="logSumExp"/> are the forward's.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A size is negative, or a span is too short for its layout.</exception>
    /// <exception cref="InvalidValueException">The scale is not finite or the dropout rate is outside [0, 1].</exception>
    public static void Backward(in AttentionShape shape, in AttentionOptions options,
        ReadOnlySpan<float> q, AttentionLayout queryLayout, ReadOnlySpan<float> k, ReadOnlySpan<float> v, AttentionLayout keyLayout,
        ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, AttentionLayout outputLayout, ReadOnlySpan<float> logSumExp,
        Span<float> dq, Span<float> dk, Span<float> dv)
    {
        const string Op = "AttentionBackward";
        Check(Op, shape, options);
        CheckOperand(Op, "q", q.Length, queryLayout, shape, shape.QueryTime);
        CheckOperand(Op, "k", k.Length, keyLayout, shape, shape.KeyTime);
        CheckOperand(Op, "v", v.Length, keyLayout, shape, shape.KeyTime);
        CheckOperand(Op, "output", output.Length, outputLayout, shape, shape.QueryTime);
        CheckOperand(Op, "outputGrad", outputGrad.Length, outputLayout, shape, shape.QueryTime);
        CheckOperand(Op, "dq", dq.Length, queryLayout, shape, shape.QueryTime);
        CheckOperand(Op, "dk", dk.Length, keyLayout, shape, shape.KeyTime);
        CheckOperand(Op, "dv", dv.Length, keyLayout, shape, shape.KeyTime);
        if (logSumExp.Length < shape.LogSumExpLength)
            throw new ShapeMismatchException($"{Op}: logSumExp holds {logSumExp.Length} floats, fewer than the {shape.LogSumExpLength} of [{shape.Batch}, {shape.Heads}, {shape.QueryTime}].");
        if (shape.Batch == 0 || shape.Heads == 0 || shape.HeadDim == 0) return;
        if (shape.KeyTime > 0 && shape.QueryTime == 0)
        {
            // No query looks at the keys: their gradients are zero.
            fixed (float* pk = dk, pv = dv)
                for (int b = 0; b < shape.Batch; b++)
                    for (int h = 0; h < shape.Heads; h++)
                    {
                        ClearRows(pk + b * keyLayout.BatchStride + h * keyLayout.HeadStride, shape.KeyTime, keyLayout.RowStride, shape.HeadDim);
                        ClearRows(pv + b * keyLayout.BatchStride + h * keyLayout.HeadStride, shape.KeyTime, keyLayout.RowStride, shape.HeadDim);
                    }
            return;
        }
        if (shape.QueryTime == 0) return;
        if (shape.KeyTime == 0)
            throw new ShapeMismatchException($"{Op}: {shape.QueryTime} queries attend to no keys; softmax over an empty set is undefined.");

        fixed (float* pq = q, pk = k, pv = v, po = output, pdo = outputGrad, pl = logSumExp, pdq = dq, pdk = dk, pdv = dv)
        {
            var body = new BackwardBody
            {
                Shape = shape, Options = options, Q = pq, K = pk, V = pv, O = po, DO = pdo, Lse = pl, DQ = pdq, DK = pdk, DV = pdv,
                QueryLayout = queryLayout, KeyLayout = keyLayout, OutputLayout = outputLayout,
            };
            ParallelFor.Run(shape.Batch * shape.Heads, Grain(shape, shape.QueryTime), ref body);
        }
    }

    /// <summary>Work items per chunk: enough that a chunk does some 200k multiply-adds.</summary>
    private static int Grain(in AttentionShape shape, int queriesPerItem)
    {
        double work = 2.0 * Math.Min(queriesPerItem, shape.QueryTime) * shape.KeyTime * shape.HeadDim;
        return (int)Math.Clamp(Math.Ceiling(200_000 / Math.Max(1.0, work)), 1, int.MaxValue);
    }

    private static void Check(string op, in AttentionShape shape, in AttentionOptions options)
    {
        if (shape.Batch < 0 || shape.Heads < 0 || shape.QueryTime < 0 || shape.KeyTime < 0 || shape.HeadDim < 0)
            throw new ShapeMismatchException($"{op}: sizes must not be negative, got batch {shape.Batch}, heads {shape.Heads}, queries {shape.QueryTime}, keys {shape.KeyTime}, head dim {shape.HeadDim}.");
        if (!float.IsFinite(options.Scale))
            throw new InvalidValueException(nameof(options.Scale), $"{op}: the scale must be a finite number, got {options.Scale}.");
        if (!(options.DropoutP >= 0f && options.DropoutP <= 1f))
            throw new InvalidValueException(nameof(options.DropoutP), $"{op}: the dropout rate must be in [0, 1], got {options.DropoutP}.");
    }

    private static void CheckOperand(string op, string name, int length, AttentionLayout layout, in AttentionShape shape, int time)
    {
        if (layout.BatchStride < 0 || layout.HeadStride < 0 || layout.RowStride < 0)
            throw new ShapeMismatchException($"{op}: {name}'s layout has a negative stride ({layout}).");
        if (time > 1 && layout.RowStride < shape.HeadDim)
            throw new ShapeMismatchException($"{op}: {name}'s positions are {layout.RowStride} floats apart, fewer than a head's {shape.HeadDim} channels.");
        if (layout.RowStride > int.MaxValue)
            throw new ShapeMismatchException($"{op}: {name}'s positions are {layout.RowStride} floats apart, beyond what one product can stride over.");
        long extent = layout.Extent(shape.Batch, shape.Heads, time, shape.HeadDim);
        if (length < extent)
            throw new ShapeMismatchException($"{op}: {name} holds {length} floats, but [{shape.Batch}, {shape.Heads}, {time}, {shape.HeadDim}] in its layout ({layout}) reaches {extent}.");
    }

    private static void ClearRows(float* p, int rows, long stride, int cols)
    {
        for (int r = 0; r < rows; r++) new Span<float>(p + r * stride, cols).Clear();
    }

    /// <summary>A span over a rows×cols block with row stride <paramref name="ld"/>, as long as <see cref="Gemm"/> needs it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Span<float> Block(float* p, int rows, long ld, int cols) =>
        new(p, rows == 0 || cols == 0 ? 0 : (int)((rows - 1) * ld + cols));

    /// <summary>Keys (out of <paramref name="cols"/> from <paramref name="key0"/>) that query <paramref name="query"/> may see.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Visible(bool causal, int query, int key0, int cols) =>
        causal ? Math.Clamp(query - key0 + 1, 0, cols) : cols;

    private struct ForwardBody : IParallelBody
    {
        public AttentionShape Shape;
        public AttentionOptions Options;
        public float* Q, K, V, O, Lse;
        public AttentionLayout QueryLayout, KeyLayout, OutputLayout;
        public int QueryBlocks;

        public readonly void Execute(int chunk, int start, int end)
        {
            // Scores, then running maximum, sum and rescale factor per query of the block.
            float* s = AttentionScratch.Get(BlockRows * BlockCols + 3 * BlockRows);
            for (int item = start; item < end; item++)
            {
                int bh = item / QueryBlocks;
                Run(bh / Shape.Heads, bh % Shape.Heads, item % QueryBlocks * BlockRows, s);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Run(int b, int h, int i0, float* scores)
        {
            int rows = Math.Min(BlockRows, Shape.QueryTime - i0), dh = Shape.HeadDim;
            float* max = scores + BlockRows * BlockCols, sum = max + BlockRows, rescale = sum + BlockRows;
            long qs = QueryLayout.RowStride, ks = KeyLayout.RowStride, os = OutputLayout.RowStride;
            float* q = Q + b * QueryLayout.BatchStride + h * QueryLayout.HeadStride + i0 * qs;
            float* k = K + b * KeyLayout.BatchStride + h * KeyLayout.HeadStride;
            float* v = V + b * KeyLayout.BatchStride + h * KeyLayout.HeadStride;
            float* o = O + b * OutputLayout.BatchStride + h * OutputLayout.HeadStride + i0 * os;
            bool causal = Options.Causal, dropout = Options.DropoutP > 0f;
            float keepScale = Options.DropoutP < 1f ? 1f / (1f - Options.DropoutP) : 0f;
            long lseRow = ((long)b * Shape.Heads + h) * Shape.QueryTime + i0;
            int keyEnd = causal ? Math.Min(Shape.KeyTime, i0 + rows) : Shape.KeyTime;
            for (int r = 0; r < rows; r++)
            {
                max[r] = float.NegativeInfinity;
                sum[r] = 0f;
            }

            for (int j0 = 0; j0 < keyEnd; j0 += BlockCols)
            {
                int cols = Math.Min(BlockCols, keyEnd - j0);
                Gemm.Multiply(false, true, rows, cols, dh, Options.Scale, Block(q, rows, qs, dh), (int)qs,
                    Block(k + j0 * ks, cols, ks, dh), (int)ks, 0f, Block(scores, rows, BlockCols, cols), BlockCols);
                for (int r = 0; r < rows; r++)
                {
                    float* row = scores + r * BlockCols;
                    int visible = Visible(causal, i0 + r, j0, cols);
                    new Span<float>(row + visible, cols - visible).Clear();
                    if (visible == 0)
                    {
                        rescale[r] = 1f;
                        continue;
                    }
                    float m = Math.Max(max[r], AttentionRows.Max(row, visible));
                    AttentionRows.ExpShifted(row, visible, m);
                    // The first block sees max = −∞: nothing accumulated yet to rescale.
                    float factor = float.IsNegativeInfinity(max[r]) ? 0f : AttentionRows.Exp(max[r] - m);
                    sum[r] = sum[r] * factor + AttentionRows.Sum(row, visible);
                    max[r] = m;
                    rescale[r] = factor;
                    if (dropout)
                        AttentionRows.ApplyDropout(row, row, visible, Options.DropoutSeed, (lseRow + r) * Shape.KeyTime, j0, Options.DropoutP, keepScale);
                }
                // The first key block writes the output rows (their old contents are not read), later ones rescale and add.
                if (j0 > 0)
                    for (int r = 0; r < rows; r++)
                        if (rescale[r] != 1f) AttentionRows.Scale(o + r * os, dh, rescale[r]);
                Gemm.Multiply(false, false, rows, dh, cols, 1f, Block(scores, rows, BlockCols, cols), BlockCols,
                    Block(v + j0 * ks, cols, ks, dh), (int)ks, j0 == 0 ? 0f : 1f, Block(o, rows, os, dh), (int)os);
            }
            for (int r = 0; r < rows; r++)
            {
                AttentionRows.Scale(o + r * os, dh, 1f / sum[r]);
                Lse[lseRow + r] = max[r] + MathF.Log(sum[r]);
            }
        }
    }

    private struct BackwardBody : IParallelBody
    {
        public AttentionShape Shape;
        public AttentionOptions Options;
        public float* Q, K, V, O, DO, Lse, DQ, DK, DV;
        public AttentionLayout QueryLayout, KeyLayout, OutputLayout;

        public readonly void Execute(int chunk, int start, int end)
        {
            // Probabilities, their dropped form, the score gradient, and Σ dO·O per query.
            const int Block2 = BlockRows * BlockCols;
            float* p = AttentionScratch.Get(3L * Block2 + Shape.QueryTime);
            for (int item = start; item < end; item++)
                Run(item / Shape.Heads, item % Shape.Heads, p, p + Block2, p + 2 * Block2, p + 3 * Block2);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Run(int b, int h, float* prob, float* dropped, float* ds, float* delta)
        {
            int tq = Shape.QueryTime, tk = Shape.KeyTime, dh = Shape.HeadDim;
            long qs = QueryLayout.RowStride, ks = KeyLayout.RowStride, os = OutputLayout.RowStride;
            long qOff = b * QueryLayout.BatchStride + h * QueryLayout.HeadStride;
            long kOff = b * KeyLayout.BatchStride + h * KeyLayout.HeadStride;
            long oOff = b * OutputLayout.BatchStride + h * OutputLayout.HeadStride;
            float* q = Q + qOff, dq = DQ + qOff, k = K + kOff, v = V + kOff, dk = DK + kOff, dv = DV + kOff;
            float* o = O + oOff, dout = DO + oOff;
            long lseRow = ((long)b * Shape.Heads + h) * tq;
            bool causal = Options.Causal, dropout = Options.DropoutP > 0f;
            float keepScale = Options.DropoutP < 1f ? 1f / (1f - Options.DropoutP) : 0f;
            float scale = Options.Scale;

            // Σ_j P_ij·dP_ij = dO_i·O_i: the softmax backward's row term, from the outputs instead of the weights.
            for (int i = 0; i < tq; i++) delta[i] = AttentionRows.Dot(dout + i * os, o + i * os, dh);
            ClearRows(dq, tq, qs, dh);

            for (int j0 = 0; j0 < tk; j0 += BlockCols)
            {
                int cols = Math.Min(BlockCols, tk - j0);
                float* kj = k + j0 * ks, vj = v + j0 * ks, dkj = dk + j0 * ks, dvj = dv + j0 * ks;
                bool first = true;
                // Causal: query blocks before the one holding query j0 see none of these keys.
                for (int i0 = causal ? j0 / BlockRows * BlockRows : 0; i0 < tq; i0 += BlockRows)
                {
                    int rows = Math.Min(BlockRows, tq - i0);
                    float* qi = q + i0 * qs, dqi = dq + i0 * qs, doi = dout + i0 * os;
                    Gemm.Multiply(false, true, rows, cols, dh, scale, Block(qi, rows, qs, dh), (int)qs,
                        Block(kj, cols, ks, dh), (int)ks, 0f, Block(prob, rows, BlockCols, cols), BlockCols);
                    for (int r = 0; r < rows; r++)
                    {
                        float* row = prob + r * BlockCols;
                        int visible = Visible(causal, i0 + r, j0, cols);
                        AttentionRows.ExpShifted(row, visible, Lse[lseRow + i0 + r]);
                        new Span<float>(row + visible, cols - visible).Clear();
                        if (dropout)
                            AttentionRows.ApplyDropout(row, dropped + r * BlockCols, cols, Options.DropoutSeed, (lseRow + i0 + r) * tk, j0, Options.DropoutP, keepScale);
                    }
                    float* used = dropout ? dropped : prob;
                    // dV_j += P̃ᵀ·dO_i (P̃: the weights as applied, dropout included).
                    Gemm.Multiply(true, false, cols, dh, rows, 1f, Block(used, rows, BlockCols, cols), BlockCols,
                        Block(doi, rows, os, dh), (int)os, first ? 0f : 1f, Block(dvj, cols, ks, dh), (int)ks);
                    // dP = dO_i·V_jᵀ, through the dropout mask, then dS = P ⊙ (dP − Δ).
                    Gemm.Multiply(false, true, rows, cols, dh, 1f, Block(doi, rows, os, dh), (int)os,
                        Block(vj, cols, ks, dh), (int)ks, 0f, Block(ds, rows, BlockCols, cols), BlockCols);
                    for (int r = 0; r < rows; r++)
                    {
                        float* g = ds + r * BlockCols;
                        if (dropout)
                            AttentionRows.ApplyDropout(g, g, cols, Options.DropoutSeed, (lseRow + i0 + r) * tk, j0, Options.DropoutP, keepScale);
                        AttentionRows.SoftmaxGradient(prob + r * BlockCols, g, cols, delta[i0 + r]);
                    }
                    // dQ_i += scale·dS·K_j and dK_j += scale·dSᵀ·Q_i.
                    Gemm.Multiply(false, false, rows, dh, cols, scale, Block(ds, rows, BlockCols, cols), BlockCols,
                        Block(kj, cols, ks, dh), (int)ks, 1f, Block(dqi, rows, qs, dh), (int)qs);
                    Gemm.Multiply(true, false, cols, dh, rows, scale, Block(ds, rows, BlockCols, cols), BlockCols,
                        Block(qi, rows, qs, dh), (int)qs, first ? 0f : 1f, Block(dkj, cols, ks, dh), (int)ks);
                    first = false;
                }
                if (first)
                {
                    // No query sees these keys (a causal mask with more keys than queries).
                    ClearRows(dkj, cols, ks, dh);
                    ClearRows(dvj, cols, ks, dh);
                }
            }
        }
    }
}
