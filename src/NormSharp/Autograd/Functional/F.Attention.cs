using NormSharp.Errors;
using NormSharp.Kernels.Attention;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// softmax(q·kᵀ·scale + mask)·v (PyTorch's <c>scaled_dot_product_attention</c>) as one fused node that never
    /// stores the full score matrix (see <see cref="AttentionKernels"/>). <paramref name="query"/> is [..., L, E],
    /// <paramref name="key"/> and <paramref name="value"/> [..., S, E] with the same leading dimensions (no
    /// broadcasting), the result [..., L, E]. <paramref name="isCausal"/> lets query i see keys j ≤ i.
    /// <paramref name="dropoutP"/> drops attention weights, drawing its seed from <paramref name="rng"/>; pass 0
    /// (PyTorch's default) outside training. <paramref name="scale"/> defaults to 1/sqrt(E).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The operands' shapes do not fit together.</exception>
    /// <exception cref="InvalidValueException">The dropout rate is outside [0, 1], or dropout is asked for without a generator.</exception>
    public static Variable ScaledDotProductAttention(Variable query, Variable key, Variable value, bool isCausal = false,
        float dropoutP = 0f, Rng? rng = null, float? scale = null)
    {
        const string Op = "ScaledDotProductAttention";
        Tape.CheckAlive(query, Op);
        Tape.CheckAlive(key, Op);
        Tape.CheckAlive(value, Op);
        var qs = query.Shape;
        var ks = key.Shape;
        if (qs.Length < 2 || ks.Length != qs.Length || !value.Shape.SequenceEqual(ks) || !qs[..^2].SequenceEqual(ks[..^2]) || qs[^1] != ks[^1])
            throw new ShapeMismatchException(
                $"{Op}: query {ShapeMismatchException.Format(qs)}, key {ShapeMismatchException.Format(ks)} and value {ShapeMismatchException.Format(value.Shape)} must be [..., L, E], [..., S, E] and [..., S, E] with the same leading dimensions.");
        int length = qs[^2], keys = ks[^2], dim = qs[^1];
        int batch = (int)Tensor.CheckedLength(qs[..^2]);
        var shape = new AttentionShape(batch, 1, length, keys, dim);
        var options = AttentionOptionsFor(Op, isCausal, dropoutP, rng, scale ?? AttentionOptions.DefaultScale(dim));
        var qLayout = AttentionLayout.HeadsFirst(1, length, dim);
        var kLayout = AttentionLayout.HeadsFirst(1, keys, dim);
        return RecordAttention(Op, shape, options, query, key, value, qLayout, kLayout, qs, qLayout);
    }

    /// <summary>
    /// Multi-head self-attention over a packed projection, as <c>nn.MultiheadAttention</c> computes it between its
    /// <c>in_proj</c> and <c>out_proj</c>: <paramref name="qkv"/> is [B, T, 3D] (or [T, B, 3D] when not
    /// <paramref name="batchFirst"/>) holding q, k and v side by side; each of <paramref name="numHeads"/> heads takes
    /// D/heads consecutive channels of each; the result is the heads' outputs side by side, [B, T, D] (or [T, B, D]),
    /// ready for <c>out_proj</c>. One fused node: the heads are read and written in place, never copied apart.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="qkv"/> is not [·, ·, 3D] with D divisible by the heads.</exception>
    /// <exception cref="InvalidValueException">The dropout rate is outside [0, 1], or dropout is asked for without a generator.</exception>
    public static Variable PackedSelfAttention(Variable qkv, int numHeads, bool isCausal = false, bool batchFirst = true,
        float dropoutP = 0f, Rng? rng = null)
    {
        const string Op = "PackedSelfAttention";
        Tape.CheckAlive(qkv, Op);
        var s = qkv.Shape;
        if (numHeads <= 0) throw new InvalidValueException(nameof(numHeads), $"{Op}: the number of heads must be positive, got {numHeads}.");
        if (s.Length != 3 || s[2] % 3 != 0 || s[2] / 3 % numHeads != 0)
            throw new ShapeMismatchException($"{Op}: the packed projection must be [{(batchFirst ? "B, T" : "T, B")}, 3·D] with D divisible by {numHeads} heads, got {ShapeMismatchException.Format(s)}.");
        int batch = batchFirst ? s[0] : s[1], time = batchFirst ? s[1] : s[0], width = s[2] / 3, headDim = width / numHeads;
        var shape = AttentionShape.SelfAttention(batch, numHeads, time, headDim);
        var options = AttentionOptionsFor(Op, isCausal, dropoutP, rng, AttentionOptions.DefaultScale(headDim));
        var inLayout = AttentionLayout.Interleaved(batch, time, 3 * width, headDim, batchFirst);
        var outLayout = AttentionLayout.Interleaved(batch, time, width, headDim, batchFirst);
        return RecordAttention(Op, shape, options, qkv, null, null, inLayout, inLayout, [s[0], s[1], width], outLayout, width);
    }

    /// <summary>
    /// Multi-head attention over separate projections whose heads lie side by side in the last dimension (as
    /// <c>nn.MultiheadAttention</c> lays them out): <paramref name="query"/> is [B, L, D], <paramref name="key"/> and
    /// <paramref name="value"/> [B, S, D] (or [L, B, D] and [S, B, D] when not <paramref name="batchFirst"/>); each of
    /// <paramref name="numHeads"/> heads takes D/heads consecutive channels; the result is the heads' outputs side by
    /// side, shaped like the query. One fused node reading the heads in place.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit together or D is not divisible by the heads.</exception>
    /// <exception cref="InvalidValueException">The dropout rate is outside [0, 1], or dropout is asked for without a generator.</exception>
    public static Variable InterleavedHeadsAttention(Variable query, Variable key, Variable value, int numHeads, bool isCausal = false,
        bool batchFirst = true, float dropoutP = 0f, Rng? rng = null)
    {
        const string Op = "InterleavedHeadsAttention";
        Tape.CheckAlive(query, Op);
        Tape.CheckAlive(key, Op);
        Tape.CheckAlive(value, Op);
        if (numHeads <= 0) throw new InvalidValueException(nameof(numHeads), $"{Op}: the number of heads must be positive, got {numHeads}.");
        var qs = query.Shape;
        var ks = key.Shape;
        int bDim = batchFirst ? 0 : 1;
        if (qs.Length != 3 || ks.Length != 3 || !value.Shape.SequenceEqual(ks) || qs[2] != ks[2] || qs[bDim] != ks[bDim] || qs[2] % numHeads != 0)
            throw new ShapeMismatchException(
                $"{Op}: query {ShapeMismatchException.Format(qs)}, key {ShapeMismatchException.Format(ks)} and value {ShapeMismatchException.Format(value.Shape)} must be [{(batchFirst ? "B, L" : "L, B")}, D] and [{(batchFirst ? "B, S" : "S, B")}, D] twice, with D divisible by {numHeads} heads.");
        int batch = qs[bDim], length = qs[1 - bDim], keys = ks[1 - bDim], width = qs[2], headDim = width / numHeads;
        var shape = new AttentionShape(batch, numHeads, length, keys, headDim);
        var options = AttentionOptionsFor(Op, isCausal, dropoutP, rng, AttentionOptions.DefaultScale(headDim));
        var qLayout = AttentionLayout.Interleaved(batch, length, width, headDim, batchFirst);
        var kLayout = AttentionLayout.Interleaved(batch, keys, width, headDim, batchFirst);
        return RecordAttention(Op, shape, options, query, key, value, qLayout, kLayout, qs, qLayout);
    }

    private static AttentionOptions AttentionOptionsFor(string op, bool causal, float dropoutP, Rng? rng, float scale)
    {
        if (!(dropoutP >= 0f && dropoutP <= 1f))
            throw new InvalidValueException(nameof(dropoutP), $"{op}: the dropout rate must be in [0, 1], got {dropoutP}.");
        if (dropoutP > 0f && rng is null)
            throw new InvalidValueException(nameof(rng), $"{op}: dropout of attention weights needs a random generator.");
        if (!float.IsFinite(scale))
            throw new InvalidValueException(nameof(scale), $"{op}: the scale must be a finite number, got {scale}.");
        return new AttentionOptions(causal, scale, dropoutP, dropoutP > 0f ? rng!.NextUInt64() : 0);
    }

    /// <summary>
    /// Runs the forward kernel and records the node. With <paramref name="key"/> null the three operands are one
    /// packed variable: q, k and v start at channels 0, <paramref name="packedWidth"/> and twice that of each row.
    /// </summary>
    private static Variable RecordAttention(string op, in AttentionShape shape, in AttentionOptions options,
        Variable qOrPacked, Variable? key, Variable? value, AttentionLayout qLayout, AttentionLayout kLayout,
        ReadOnlySpan<int> outputShape, AttentionLayout outLayout, int packedWidth = 0)
    {
        var tape = Tape.Current;
        bool record = key is null ? Tape.NeedsGrad(qOrPacked) : Tape.NeedsGrad(qOrPacked, key, value);
        var y = tape.Allocate(outputShape);
        var lse = record ? tape.Allocate((int)shape.LogSumExpLength) : Tensor.Zeros((int)shape.LogSumExpLength);
        var qv = qOrPacked.Value.Span;
        var k = key is null ? qv[Math.Min(packedWidth, qv.Length)..] : key.Value.Span;
        var v = value is null ? qv[Math.Min(2 * packedWidth, qv.Length)..] : value.Value.Span;
        AttentionKernels.Forward(shape, options, qv, qLayout, k, v, kLayout, y.Span, outLayout, lse.Span);
        if (!record) return tape.Wrap(y);
        var node = tape.RentNode<AttentionNode>();
        (node.Q, node.K, node.V) = (qOrPacked, key, value);
        (node.Shape, node.Options, node.QueryLayout, node.KeyLayout, node.OutputLayout) = (shape, options, qLayout, kLayout, outLayout);
        (node.LogSumExp, node.PackedWidth) = (lse, packedWidth);
        return tape.Record(node, y);
    }

    private sealed class AttentionNode : Node
    {
        public Variable Q = null!;
        public Variable? K, V;
        public AttentionShape Shape;
        public AttentionOptions Options;
        public AttentionLayout QueryLayout, KeyLayout, OutputLayout;
        public Tensor LogSumExp = null!;
        public int PackedWidth;

        internal override void Backward(Tape tape)
        {
            var dy = Output.Grad!.Span;
            var y = Output.Value.Span;
            if (K is null)
            {
                var gp = tape.GradientFor(Q);
                var buffer = gp?.Buffer ?? tape.Allocate(Q.Shape);
                var d = buffer.Span;
                var p = Q.Value.Span;
                int w = PackedWidth;
                AttentionKernels.Backward(Shape, Options, p, QueryLayout, p[w..], p[(2 * w)..], KeyLayout, y, dy, OutputLayout, LogSumExp.Span,
                    d, d[w..], d[(2 * w)..]);
                gp?.Commit();
                return;
            }
            var gq = tape.GradientFor(Q);
            var gk = tape.GradientFor(K);
            var gv = tape.GradientFor(V!);
            var dq = gq?.Buffer ?? tape.Allocate(Q.Shape);
            var dk = gk?.Buffer ?? tape.Allocate(K.Shape);
            var dv = gv?.Buffer ?? tape.Allocate(V!.Shape);
            AttentionKernels.Backward(Shape, Options, Q.Value.Span, QueryLayout, K.Value.Span, V!.Value.Span, KeyLayout, y, dy, OutputLayout, LogSumExp.Span,
                dq.Span, dk.Span, dv.Span);
            gq?.Commit();
            gk?.Commit();
            gv?.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            Q = null!;
            K = V = null;
            LogSumExp = null!;
        }
    }
}
