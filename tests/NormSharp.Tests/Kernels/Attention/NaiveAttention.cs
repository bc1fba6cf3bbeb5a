using NormSharp.Kernels.Attention;

namespace NormSharp.Tests.Kernels.Attention;

/// <summary>
/// Attention the slow and obvious way, in double: the whole score matrix of each head, a two-pass softmax, and the
/// backward pass written out from the definitions. The reference the fused kernels are held to.
/// </summary>
internal static class NaiveAttention
{
    public sealed record Result(double[] Output, double[] Dq, double[] Dk, double[] Dv);

    /// <summary>
    /// Forward and backward for operands in the given layouts (q, dq in <paramref name="ql"/>; k, v, dk, dv in
    /// <paramref name="kl"/>; output and dO in <paramref name="ol"/>). Gradient buffers have the operands' lengths;
    /// elements no head touches stay 0. <paramref name="keep"/> says whether a weight survives dropout (null: no dropout).
    /// </summary>
    public static Result Run(AttentionShape s, bool causal, double scale, float[] q, AttentionLayout ql, float[] k, float[] v, AttentionLayout kl,
        float[] dOut, AttentionLayout ol, int outLength, Func<int, int, int, int, bool>? keep = null, double keepScale = 1)
    {
        var output = new double[outLength];
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dv = new double[v.Length];
        int tq = s.QueryTime, tk = s.KeyTime, e = s.HeadDim;
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.Heads; h++)
            {
                long qo = b * ql.BatchStride + h * ql.HeadStride, ko = b * kl.BatchStride + h * kl.HeadStride, oo = b * ol.BatchStride + h * ol.HeadStride;
                double Q(int i, int d) => q[qo + i * ql.RowStride + d];
                double K(int j, int d) => k[ko + j * kl.RowStride + d];
                double V(int j, int d) => v[ko + j * kl.RowStride + d];
                double DO(int i, int d) => dOut[oo + i * ol.RowStride + d];
                var p = new double[tq, tk];
                var pd = new double[tq, tk];
                for (int i = 0; i < tq; i++)
                {
                    double max = double.NegativeInfinity;
                    var sc = new double[tk];
                    for (int j = 0; j < tk; j++)
                    {
                        if (causal && j > i) { sc[j] = double.NegativeInfinity; continue; }
                        double dot = 0;
                        for (int d = 0; d < e; d++) dot += Q(i, d) * K(j, d);
                        sc[j] = dot * scale;
                        max = Math.Max(max, sc[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < tk; j++) sum += sc[j] == double.NegativeInfinity ? 0 : Math.Exp(sc[j] - max);
                    for (int j = 0; j < tk; j++)
                    {
                        p[i, j] = sc[j] == double.NegativeInfinity ? 0 : Math.Exp(sc[j] - max) / sum;
                        pd[i, j] = keep is null ? p[i, j] : keep(b, h, i, j) ? p[i, j] * keepScale : 0;
                    }
                    for (int d = 0; d < e; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < tk; j++) acc += pd[i, j] * V(j, d);
                        output[oo + i * ol.RowStride + d] = acc;
                    }
                }
                for (int i = 0; i < tq; i++)
                {
                    var dp = new double[tk];
                    double rowDot = 0;
                    for (int j = 0; j < tk; j++)
                    {
                        double g = 0;
                        for (int d = 0; d < e; d++) g += DO(i, d) * V(j, d);
                        dp[j] = keep is null ? g : keep(b, h, i, j) ? g * keepScale : 0;
                        rowDot += dp[j] * p[i, j];
                        for (int d = 0; d < e; d++) dv[ko + j * kl.RowStride + d] += pd[i, j] * DO(i, d);
                    }
                    for (int j = 0; j < tk; j++)
                    {
                        double ds = p[i, j] * (dp[j] - rowDot) * scale;
                        for (int d = 0; d < e; d++)
                        {
                            dq[qo + i * ql.RowStride + d] += ds * K(j, d);
                            dk[ko + j * kl.RowStride + d] += ds * Q(i, d);
                        }
                    }
                }
            }
        return new Result(output, dq, dk, dv);
    }
}
