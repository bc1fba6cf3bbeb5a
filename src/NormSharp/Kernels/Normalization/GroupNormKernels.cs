using System.Buffers;
using NormSharp.Errors;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Group normalization of x laid out [N, C, S] (S = product of the spatial dimensions): the channels of
/// each sample fall into <c>groups</c> contiguous groups, each normalized with its own statistics, then a
/// per-channel gain and bias. A group is a contiguous run of C/groups·S elements, so the statistics are
/// those of a [N·groups, C/groups·S] layer normalization, and the kernels build on it.
/// </summary>
public static class GroupNormKernels
{
    /// <summary>Forward; keeps mean and rstd per (sample, group), i.e. [N·groups].</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, Span<float> mean, Span<float> rstd, int n, int c, int spatial, int groups, float eps)
    {
        const string Op = "GroupNorm";
        int rowLen = Check(Op, x.Length, y.Length, weight.Length, bias.Length, n, c, spatial, groups);
        RowNormalization.CheckLength(Op, "mean", mean.Length, (long)n * groups);
        RowNormalization.CheckLength(Op, "rstd", rstd.Length, (long)n * groups);
        LayerNormKernels.Forward(x, default, default, y, mean, rstd, n * groups, rowLen, eps);
        if (weight.IsEmpty && bias.IsEmpty) return;
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                var seg = y.Slice((i * c + ch) * spatial, spatial);
                float w = weight.IsEmpty ? 1f : weight[ch];
                float b = bias.IsEmpty ? 0f : bias[ch];
                for (int s = 0; s < seg.Length; s++) seg[s] = seg[s] * w + b;
            }
    }

    /// <summary>Backward: dx (overwritten), and dweight, dbias per channel when their spans are not empty (overwritten).</summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, Span<float> dx, Span<float> dweight, Span<float> dbias, int n, int c, int spatial, int groups)
    {
        const string Op = "GroupNormBackward";
        int rowLen = Check(Op, x.Length, dx.Length, weight.Length, 0, n, c, spatial, groups);
        RowNormalization.CheckLength(Op, "dy", dy.Length, x.Length);
        RowNormalization.CheckLength(Op, "mean", mean.Length, (long)n * groups);
        RowNormalization.CheckLength(Op, "rstd", rstd.Length, (long)n * groups);
        RowNormalization.CheckOptional(Op, "dweight", dweight.Length, c);
        RowNormalization.CheckOptional(Op, "dbias", dbias.Length, c);
        int cpg = c / groups;
        dweight.Clear();
        dbias.Clear();
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                int row = i * groups + ch / cpg;
                int o = (i * c + ch) * spatial;
                double sw = 0, sb = 0;
                for (int s = 0; s < spatial; s++)
                {
                    double xhat = ((double)x[o + s] - mean[row]) * rstd[row];
                    sw += dy[o + s] * xhat;
                    sb += dy[o + s];
                }
                if (!dweight.IsEmpty) dweight[ch] += (float)sw;
                if (!dbias.IsEmpty) dbias[ch] += (float)sb;
            }
        float[] scaled = ArrayPool<float>.Shared.Rent(dy.Length);
        try
        {
            var g = scaled.AsSpan(0, dy.Length);
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < c; ch++)
                {
                    int o = (i * c + ch) * spatial;
                    float w = weight.IsEmpty ? 1f : weight[ch];
                    for (int s = 0; s < spatial; s++) g[o + s] = dy[o + s] * w;
                }
            // With the gain folded into the upstream gradient, dx is that of a plain layer norm over each group.
            LayerNormKernels.Backward(g, x, default, mean, rstd, dx, default, default, n * groups, rowLen);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scaled);
        }
    }

    private static int Check(string op, int xLen, int yLen, int wLen, int bLen, int n, int c, int spatial, int groups)
    {
        if (n < 0 || c < 0 || spatial < 0) throw new ShapeMismatchException($"{op}: sizes must not be negative, got [{n}, {c}, {spatial}].");
        if (groups <= 0 || c % groups != 0)
            throw new InvalidValueException("groups", $"{op}: the channel count {c} must be a positive multiple of the number of groups {groups}.");
        long total = (long)n * c * spatial;
        RowNormalization.CheckLength(op, "x", xLen, total);
        RowNormalization.CheckLength(op, "y", yLen, total);
        RowNormalization.CheckOptional(op, "weight", wLen, c);
        RowNormalization.CheckOptional(op, "bias", bLen, c);
        return c / groups * spatial;
    }
}
