using System.Runtime.CompilerServices;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;

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
/// <para>Operands are read in place through <see cref="AttentionLayout"/> strides (packed projections, either
/// sequence layout), and the block products are register-tiled for small head dimensions (<see cref="AttentionBlocks"/>),
/// written once for every vector width with the same bits at each. Work is split over
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
    public const int BlockCols = AttentionBlocks.Width;

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
            WidthParallel.Run(count, Grain(shape, BlockRows), ref body);
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
                        AttentionBlocks.ClearRows(pk + b * keyLayout.BatchStride + h * keyLayout.HeadStride, shape.KeyTime, keyLayout.RowStride, shape.HeadDim);
                        AttentionBlocks.ClearRows(pv + b * keyLayout.BatchStride + h * keyLayout.HeadStride, shape.KeyTime, keyLayout.RowStride, shape.HeadDim);
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
            WidthParallel.Run(shape.Batch * shape.Heads, Grain(shape, shape.QueryTime), ref body);
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

    /// <summary>Keys (out of <paramref name="cols"/> from <paramref name="key0"/>) that query <paramref name="query"/> may see.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Visible(bool causal, int query, int key0, int cols) =>
        causal ? Math.Clamp(query - key0 + 1, 0, cols) : cols;

    private struct ForwardBody : IParallelWidthBody
    {
        public AttentionShape Shape;
        public AttentionOptions Options;
        public float* Q, K, V, O, Lse;
        public AttentionLayout QueryLayout, KeyLayout, OutputLayout;
        public int QueryBlocks;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            int dh = Shape.HeadDim, w = Padded(dh, TV.Count);
            // Keys transposed, values padded, scores, the output accumulator, and three statistics per query.
            float* kt = AttentionScratch.Get((long)dh * BlockCols + 2L * BlockCols * w + BlockRows * BlockCols + 3 * BlockRows);
            float* vp = kt + (long)dh * BlockCols, acc = vp + (long)BlockCols * w, scores = acc + (long)BlockRows * w;
            for (int item = start; item < end; item++)
            {
                int bh = item / QueryBlocks;
                Run<TV>(bh / Shape.Heads, bh % Shape.Heads, item % QueryBlocks * BlockRows, kt, vp, acc, scores, w);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Run<TV>(int b, int h, int i0, float* kt, float* vp, float* acc, float* scores, int w) where TV : unmanaged, IFloatVector<TV>
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
                AttentionBlocks.Transpose(k + j0 * ks, ks, cols, dh, kt);
                AttentionBlocks.Pad(v + j0 * ks, ks, cols, dh, vp, w);
                AttentionBlocks.Scores<TV>(q, qs, rows, dh, kt, Options.Scale, scores, cols, causal ? i0 - j0 : BlockCols);
                for (int r = 0; r < rows; r++)
                {
                    float* row = scores + r * BlockCols;
                    AttentionRows.Hide(row, Visible(causal, i0 + r, j0, cols));
                    float m = Math.Max(max[r], AttentionRows.Max<TV>(row));
                    AttentionRows.Subtract<TV>(row, m);
                    // e^(old max − new max) rescales what was accumulated; the first block finds max = −∞, hence 0.
                    rescale[r] = max[r] - m;
                    max[r] = m;
                }
                AttentionRows.Exp<TV>(scores, rows * BlockCols);
                // The statistics rows are whole vectors long (64 floats): the entries past the block's rows are cleared, and unused.
                new Span<float>(rescale + rows, BlockRows - rows).Clear();
                AttentionRows.Exp<TV>(rescale, (rows + TV.Count - 1) / TV.Count * TV.Count);
                for (int r = 0; r < rows; r++)
                {
                    float* row = scores + r * BlockCols;
                    sum[r] = sum[r] * rescale[r] + AttentionRows.Sum<TV>(row);
                    if (dropout)
                        AttentionRows.ApplyDropout(row, row, cols, Options.DropoutSeed, (lseRow + r) * Shape.KeyTime, j0, Options.DropoutP, keepScale);
                    // The first key block writes the accumulator rows, later ones rescale and add.
                    if (j0 > 0 && rescale[r] != 1f) AttentionRows.Scale<TV>(acc + (long)r * w, w, rescale[r]);
                }
                AttentionBlocks.Accumulate<TV>(rows, cols, 1f, scores, BlockCols, 1, vp, w, w, acc, w, overwrite: j0 == 0);
            }
            for (int r = 0; r < rows; r++)
            {
                Lse[lseRow + r] = max[r] + MathF.Log(sum[r]);
                sum[r] = 1f / sum[r];
            }
            AttentionBlocks.Unpad(acc, w, rows, dh, o, os, sum);
        }
    }

    private struct BackwardBody : IParallelWidthBody
    {
        public AttentionShape Shape;
        public AttentionOptions Options;
        public float* Q, K, V, O, DO, Lse, DQ, DK, DV;
        public AttentionLayout QueryLayout, KeyLayout, OutputLayout;

        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            int dh = Shape.HeadDim, w = Padded(dh, TV.Count), tq = Shape.QueryTime;
            const int Block2 = BlockRows * BlockCols;
            long perKeyBlock = 2L * dh * BlockCols + 3L * BlockCols * w;  // kt, vt; kp, dk, dv
            long perQuery = 3L * w + 1;                                    // qp, dop, dq; delta
            float* p = AttentionScratch.Get(3L * Block2 + perKeyBlock + perQuery * tq);
            var s = new Scratch
            {
                Prob = p, Dropped = p + Block2, Ds = p + 2 * Block2,
                Kt = p + 3 * Block2, Vt = p + 3 * Block2 + (long)dh * BlockCols,
                Kp = p + 3 * Block2 + 2L * dh * BlockCols,
            };
            s.Dk = s.Kp + (long)BlockCols * w;
            s.Dv = s.Dk + (long)BlockCols * w;
            s.Qp = s.Dv + (long)BlockCols * w;
            s.Dop = s.Qp + (long)tq * w;
            s.Dq = s.Dop + (long)tq * w;
            s.Delta = s.Dq + (long)tq * w;
            for (int item = start; item < end; item++)
                Run<TV>(item / Shape.Heads, item % Shape.Heads, s, w);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Run<TV>(int b, int h, Scratch s, int w) where TV : unmanaged, IFloatVector<TV>
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
            for (int i = 0; i < tq; i++) s.Delta[i] = AttentionRows.Dot(dout + i * os, o + i * os, dh);
            AttentionBlocks.Pad(q, qs, tq, dh, s.Qp, w);
            AttentionBlocks.Pad(dout, os, tq, dh, s.Dop, w);
            new Span<float>(s.Dq, tq * w).Clear();

            for (int j0 = 0; j0 < tk; j0 += BlockCols)
            {
                int cols = Math.Min(BlockCols, tk - j0);
                AttentionBlocks.Transpose(k + j0 * ks, ks, cols, dh, s.Kt);
                AttentionBlocks.Transpose(v + j0 * ks, ks, cols, dh, s.Vt);
                AttentionBlocks.Pad(k + j0 * ks, ks, cols, dh, s.Kp, w);
                bool first = true;
                // Causal: query blocks before the one holding query j0 see none of these keys.
                for (int i0 = causal ? j0 / BlockRows * BlockRows : 0; i0 < tq; i0 += BlockRows)
                {
                    int rows = Math.Min(BlockRows, tq - i0);
                    int lastVisible = causal ? i0 - j0 : BlockCols;
                    float* qi = s.Qp + (long)i0 * w, doi = s.Dop + (long)i0 * w;
                    AttentionBlocks.Scores<TV>(qi, w, rows, dh, s.Kt, scale, s.Prob, cols, lastVisible);
                    for (int r = 0; r < rows; r++)
                    {
                        float* row = s.Prob + r * BlockCols;
                        AttentionRows.Hide(row, Visible(causal, i0 + r, j0, cols));
                        AttentionRows.Subtract<TV>(row, Lse[lseRow + i0 + r]);
                    }
                    AttentionRows.Exp<TV>(s.Prob, rows * BlockCols);
                    if (dropout)
                        for (int r = 0; r < rows; r++)
                            AttentionRows.ApplyDropout(s.Prob + r * BlockCols, s.Dropped + r * BlockCols, BlockCols, Options.DropoutSeed, (lseRow + i0 + r) * tk, j0, Options.DropoutP, keepScale);
                    float* used = dropout ? s.Dropped : s.Prob;
                    // dV_j += P̃ᵀ·dO_i (P̃: the weights as applied, dropout included).
                    AttentionBlocks.Accumulate<TV>(cols, rows, 1f, used, 1, BlockCols, doi, w, w, s.Dv, w, overwrite: first);
                    // dP = dO_i·V_jᵀ, through the dropout mask, then dS = P ⊙ (dP − Δ); hidden positions get 0.
                    AttentionBlocks.Scores<TV>(doi, w, rows, dh, s.Vt, 1f, s.Ds, cols, lastVisible);
                    for (int r = 0; r < rows; r++)
                    {
                        float* g = s.Ds + r * BlockCols;
                        int visible = Visible(causal, i0 + r, j0, cols);
                        new Span<float>(g + visible, BlockCols - visible).Clear();
                        if (dropout)
                            AttentionRows.ApplyDropout(g, g, visible, Options.DropoutSeed, (lseRow + i0 + r) * tk, j0, Options.DropoutP, keepScale);
                        AttentionRows.SoftmaxGradient<TV>(s.Prob + r * BlockCols, g, s.Delta[i0 + r]);
                    }
                    // dQ_i += scale·dS·K_j and dK_j += scale·dSᵀ·Q_i.
                    AttentionBlocks.Accumulate<TV>(rows, cols, scale, s.Ds, BlockCols, 1, s.Kp, w, w, s.Dq + (long)i0 * w, w, overwrite: false);
                    AttentionBlocks.Accumulate<TV>(cols, rows, scale, s.Ds, 1, BlockCols, qi, w, w, s.Dk, w, overwrite: first);
                    first = false;
                }
                if (first)
                {
                    // No query sees these keys (a causal mask with more keys than queries).
                    AttentionBlocks.ClearRows(dk + j0 * ks, cols, ks, dh);
                    AttentionBlocks.ClearRows(dv + j0 * ks, cols, ks, dh);
                }
                else
                {
                    AttentionBlocks.Unpad(s.Dk, w, cols, dh, dk + j0 * ks, ks, null);
                    AttentionBlocks.Unpad(s.Dv, w, cols, dh, dv + j0 * ks, ks, null);
                }
            }
            AttentionBlocks.Unpad(s.Dq, w, tq, dh, dq, qs, null);
        }

        /// <summary>Where one thread's working blocks lie in its scratch.</summary>
        private struct Scratch
        {
            public float* Prob, Dropped, Ds, Kt, Vt, Kp, Dk, Dv, Qp, Dop, Dq, Delta;
        }
    }

    /// <summary>The head dimension rounded up to whole vectors of <paramref name="lanes"/>.</summary>
    private static int Padded(int dh, int lanes) => (dh + lanes - 1) / lanes * lanes;
}
