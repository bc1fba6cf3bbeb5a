using NormSharp.Errors;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Batch normalization of x laid out [N, C, L] (L = 1 for [N, C]) per channel c over N and L
/// (PyTorch semantics). Training mode normalizes with the batch statistics (biased variance) and moves
/// the running statistics toward them, the variance with its unbiased estimate; inference mode
/// normalizes with the running statistics. Statistics are two-pass in double, so a large mean does not
/// cancel. An empty weight or bias span means none; empty running spans mean they are not tracked.
/// </summary>
public static class BatchNormKernels
{
    /// <summary>Training-mode forward; saves the batch mean and 1/sqrt(var + eps) per channel for the backward.</summary>
    public static void ForwardTraining(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        Span<float> saveMean, Span<float> saveInvStd, Span<float> runningMean, Span<float> runningVar, int n, int c, int l, float eps, float momentum)
    {
        const string Op = "BatchNorm";
        Check(Op, x.Length, y.Length, weight.Length, bias.Length, n, c, l, eps);
        RowNormalization.CheckLength(Op, "save_mean", saveMean.Length, c);
        RowNormalization.CheckLength(Op, "save_invstd", saveInvStd.Length, c);
        RowNormalization.CheckOptional(Op, "running_mean", runningMean.Length, c);
        RowNormalization.CheckOptional(Op, "running_var", runningVar.Length, c);
        if (runningMean.IsEmpty != runningVar.IsEmpty)
            throw new ShapeMismatchException($"{Op}: running_mean and running_var must both be given or both be empty.");
        long count = (long)n * l;
        if (count <= 1)
            throw new InvalidValueException("x", $"{Op}: expected more than 1 value per channel when training, got input [{n}, {c}, {l}].");
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
                foreach (float v in x.Slice((i * c + ch) * l, l)) sum += v;
            double mean = sum / count;
            double sq = 0;
            for (int i = 0; i < n; i++)
                foreach (float v in x.Slice((i * c + ch) * l, l))
                {
                    double d = v - mean;
                    sq += d * d;
                }
            double variance = sq / count;
            double invStd = 1.0 / Math.Sqrt(variance + eps);
            saveMean[ch] = (float)mean;
            saveInvStd[ch] = (float)invStd;
            if (!runningMean.IsEmpty)
            {
                runningMean[ch] = (float)((1 - momentum) * runningMean[ch] + momentum * mean);
                runningVar[ch] = (float)((1 - momentum) * runningVar[ch] + momentum * variance * count / (count - 1));
            }
            Apply(x, y, weight, bias, n, c, l, ch, mean, invStd);
        }
    }

    /// <summary>Inference-mode forward with the running statistics (left unchanged).</summary>
    public static void ForwardInference(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, Span<float> y, int n, int c, int l, float eps)
    {
        const string Op = "BatchNorm";
        Check(Op, x.Length, y.Length, weight.Length, bias.Length, n, c, l, eps);
        RowNormalization.CheckLength(Op, "running_mean", runningMean.Length, c);
        RowNormalization.CheckLength(Op, "running_var", runningVar.Length, c);
        for (int ch = 0; ch < c; ch++)
            Apply(x, y, weight, bias, n, c, l, ch, runningMean[ch], 1.0 / Math.Sqrt(runningVar[ch] + (double)eps));
    }

    /// <summary>
    /// Training-mode backward: dx = w·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)) per channel; dweight = Σ dy·x̂,
    /// dbias = Σ dy when their spans are not empty. Outputs are overwritten.
    /// </summary>
    public static void BackwardTraining(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> saveMean, ReadOnlySpan<float> saveInvStd,
        Span<float> dx, Span<float> dweight, Span<float> dbias, int n, int c, int l)
    {
        const string Op = "BatchNormBackward";
        CheckBackward(Op, dy.Length, x.Length, dx.Length, weight.Length, dweight.Length, dbias.Length, n, c, l);
        RowNormalization.CheckLength(Op, "save_mean", saveMean.Length, c);
        RowNormalization.CheckLength(Op, "save_invstd", saveInvStd.Length, c);
        long count = (long)n * l;
        for (int ch = 0; ch < c; ch++)
        {
            double mean = saveMean[ch], invStd = saveInvStd[ch];
            double sdy = 0, sdyx = 0;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * l;
                for (int t = 0; t < l; t++)
                {
                    double g = dy[o + t];
                    sdy += g;
                    sdyx += g * (x[o + t] - mean) * invStd;
                }
            }
            if (!dweight.IsEmpty) dweight[ch] = (float)sdyx;
            if (!dbias.IsEmpty) dbias[ch] = (float)sdy;
            double w = weight.IsEmpty ? 1.0 : weight[ch];
            double mdy = sdy / count, mdyx = sdyx / count;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * l;
                for (int t = 0; t < l; t++)
                {
                    double xhat = (x[o + t] - mean) * invStd;
                    dx[o + t] = (float)(w * invStd * (dy[o + t] - mdy - xhat * mdyx));
                }
            }
        }
    }

    /// <summary>
    /// Inference-mode backward (the statistics are constants): dx = w·dy/sqrt(running_var + eps);
    /// dweight = Σ dy·x̂, dbias = Σ dy when wanted. Outputs are overwritten.
    /// </summary>
    public static void BackwardInference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, float eps,
        Span<float> dx, Span<float> dweight, Span<float> dbias, int n, int c, int l)
    {
        const string Op = "BatchNormBackward";
        CheckBackward(Op, dy.Length, x.Length, dx.Length, weight.Length, dweight.Length, dbias.Length, n, c, l);
        RowNormalization.CheckLength(Op, "running_mean", runningMean.Length, c);
        RowNormalization.CheckLength(Op, "running_var", runningVar.Length, c);
        for (int ch = 0; ch < c; ch++)
        {
            double invStd = 1.0 / Math.Sqrt(runningVar[ch] + (double)eps);
            double mean = runningMean[ch];
            double w = weight.IsEmpty ? 1.0 : weight[ch];
            double sdy = 0, sdyx = 0;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * l;
                for (int t = 0; t < l; t++)
                {
                    double g = dy[o + t];
                    sdy += g;
                    sdyx += g * (x[o + t] - mean) * invStd;
                    dx[o + t] = (float)(w * invStd * g);
                }
            }
            if (!dweight.IsEmpty) dweight[ch] = (float)sdyx;
            if (!dbias.IsEmpty) dbias[ch] = (float)sdy;
        }
    }

    private static void Apply(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c, int l, int ch, double mean, double invStd)
    {
        double w = weight.IsEmpty ? 1.0 : weight[ch];
        double b = bias.IsEmpty ? 0.0 : bias[ch];
        for (int i = 0; i < n; i++)
        {
            int o = (i * c + ch) * l;
            for (int t = 0; t < l; t++) y[o + t] = (float)(((double)x[o + t] - mean) * invStd * w + b);
        }
    }

    private static void Check(string op, int xLen, int yLen, int wLen, int bLen, int n, int c, int l, float eps)
    {
        if (n < 0 || c < 0 || l < 0) throw new ShapeMismatchException($"{op}: sizes must not be negative, got [{n}, {c}, {l}].");
        RowNormalization.CheckEps(op, eps);
        long total = (long)n * c * l;
        RowNormalization.CheckLength(op, "x", xLen, total);
        RowNormalization.CheckLength(op, "y", yLen, total);
        RowNormalization.CheckOptional(op, "weight", wLen, c);
        RowNormalization.CheckOptional(op, "bias", bLen, c);
    }

    private static void CheckBackward(string op, int dyLen, int xLen, int dxLen, int wLen, int dwLen, int dbLen, int n, int c, int l)
    {
        if (n < 0 || c < 0 || l < 0) throw new ShapeMismatchException($"{op}: sizes must not be negative, got [{n}, {c}, {l}].");
        long total = (long)n * c * l;
        RowNormalization.CheckLength(op, "dy", dyLen, total);
        RowNormalization.CheckLength(op, "x", xLen, total);
        RowNormalization.CheckLength(op, "dx", dxLen, total);
        RowNormalization.CheckOptional(op, "weight", wLen, c);
        RowNormalization.CheckOptional(op, "dweight", dwLen, c);
        RowNormalization.CheckOptional(op, "dbias", dbLen, c);
    }
}
