namespace NormSharp.Kernels.Attention;

/// <summary>
/// Where one attention operand (queries, keys, values, outputs, or their gradients) lies in its buffer: the
/// element of batch b, head h, position t and channel d is at <c>b·BatchStride + h·HeadStride + t·RowStride + d</c>
/// (a head's channels are contiguous). The kernels read heads in place through these strides, so splitting a
/// packed projection into heads and merging the heads back costs no copy.
/// </summary>
/// <param name="BatchStride">Floats between the same element of consecutive batch entries.</param>
/// <param name="HeadStride">Floats between the first channels of consecutive heads.</param>
/// <param name="RowStride">Floats between consecutive positions of one head.</param>
public readonly record struct AttentionLayout(long BatchStride, long HeadStride, long RowStride)
{
    /// <summary>
    /// Heads side by side within each row of a [B, T, width] buffer (<paramref name="batchFirst"/>) or a
    /// [T, B, width] buffer (PyTorch's default sequence-first layout): head h occupies channels
    /// [h·headDim, (h+1)·headDim) of a row. This is how <c>nn.MultiheadAttention</c> splits its projections
    /// and how it merges the heads' outputs before <c>out_proj</c>.
    /// </summary>
    public static AttentionLayout Interleaved(int batch, int time, int rowWidth, int headDim, bool batchFirst = true) =>
        batchFirst
            ? new AttentionLayout((long)time * rowWidth, headDim, rowWidth)
            : new AttentionLayout(rowWidth, headDim, (long)batch * rowWidth);

    /// <summary>A contiguous [B, H, T, headDim] buffer (the layout of PyTorch's <c>scaled_dot_product_attention</c>).</summary>
    public static AttentionLayout HeadsFirst(int heads, int time, int headDim) =>
        new((long)heads * time * headDim, (long)time * headDim, headDim);

    /// <summary>One past the largest offset of a [batch, heads, time, headDim] operand in this layout (0 when it is empty).</summary>
    internal long Extent(int batch, int heads, int time, int headDim) =>
        batch == 0 || heads == 0 || time == 0 || headDim == 0
            ? 0
            : (batch - 1) * BatchStride + (heads - 1) * HeadStride + (time - 1) * RowStride + headDim;
}
