using System.Buffers;
using NormSharp.Errors;
using NormSharp.Threading;
using static NormSharp.Kernels.Normalization.ChannelNormSimd;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Group normalization over x laid out as [N, C, spatial]: the C channels of each sample are split into
/// <c>groups</c> consecutive groups, each normalized with its own mean and biased variance over its
/// (C/groups)·spatial values, then scaled and shifted per channel. Statistics are computed in double with two
/// passes. An empty weight or bias span means the affine transform is off; outputs are overwritten, never
/// accumulated into, and an empty gradient output span means that gradient is not wanted.
/// </summary>
public static unsafe class GroupNormKernels
{
    /// <summary>Elements per parallel chunk below which splitting further costs more than it saves (64 KB of floats).</summary>
    private const int GrainElements = 16384;

    /// <summary>
    /// Forward: y = (x - mean)·rstd·weight[c] + bias[c]. Writes each (sample, group)'s mean and
    /// rstd = 1/sqrt(var + eps) to <paramref name="mean"/> and <paramref name="rstd"/> (N·groups each, sample-major).
    /// </summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match the sizes.</exception>
    /// <exception cref="InvalidValueException">A size is not positive, c is not a multiple of groups, or eps is negative or not finite.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        Span<float> mean, Span<float> rstd, int n, int c, int spatial, int groups, float eps)
    {
        const string op = "GroupNorm.Forward";
        long total = CheckDims(op, n, c, spatial, groups);
        if (!(eps >= 0) || float.IsInfinity(eps))
            throw new InvalidValueException(nameof(eps), $"{op}: eps must be finite and non-negative, got {eps}.");
        CheckLength(op, nameof(x), x.Length, total, n, c, spatial);
        CheckLength(op, nameof(y), y.Length, total, n, c, spatial);
        CheckOptional(op, nameof(weight), weight.Length, c);
        CheckOptional(op, nameof(bias), bias.Length, c);
        CheckStats(op, nameof(mean), mean.Length, n, groups);
        CheckStats(op, nameof(rstd), rstd.Length, n, groups);

        fixed (float* px = x, pw = weight, pb = bias, py = y, pm = mean, pr = rstd)
        {
            var body = new ForwardBody { X = px, W = pw, B = pb, Y = py, Mean = pm, Rstd = pr, C = c, S = spatial, G = groups, Eps = eps };
            long blockSize = (long)(c / groups) * spatial;
            ParallelFor.Run(n * groups, (int)Math.Max(1, GrainElements / blockSize), ref body);
        }
    }

    /// <summary>
    /// Backward, given the <paramref name="mean"/> and <paramref name="rstd"/> written by <see cref="Forward"/>:
    /// within each (sample, group) of M values, dx = rstd·(g - mean(g) - x̂·mean(g·x̂)) with g = dy·weight[c];
    /// dweight[c] = Σ dy·x̂ and dbias[c] = Σ dy over samples and spatial positions. Work is split over groups.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match the sizes.</exception>
    /// <exception cref="InvalidValueException">A size is not positive or c is not a multiple of groups.</exception>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, Span<float> dx, Span<float> dweight, Span<float> dbias,
        int n, int c, int spatial, int groups)
    {
        const string op = "GroupNorm.Backward";
        long total = CheckDims(op, n, c, spatial, groups);
        CheckLength(op, nameof(dy), dy.Length, total, n, c, spatial);
        CheckLength(op, nameof(x), x.Length, total, n, c, spatial);
        CheckOptional(op, nameof(weight), weight.Length, c);
        CheckStats(op, nameof(mean), mean.Length, n, groups);
        CheckStats(op, nameof(rstd), rstd.Length, n, groups);
        if (!dx.IsEmpty) CheckLength(op, nameof(dx), dx.Length, total, n, c, spatial);
        CheckOptional(op, nameof(dweight), dweight.Length, c);
        CheckOptional(op, nameof(dbias), dbias.Length, c);

        fixed (float* pdy = dy, px = x, pw = weight, pm = mean, pr = rstd, pdx = dx, pdw = dweight, pdb = dbias)
        {
            var body = new BackwardBody
            {
                Dy = pdy, X = px, W = pw, Mean = pm, Rstd = pr, Dx = pdx, DWeight = pdw, DBias = pdb,
                N = n, C = c, S = spatial, G = groups,
            };
            long groupSize = (long)n * (c / groups) * spatial;
            ParallelFor.Run(groups, (int)Math.Max(1, GrainElements / groupSize), ref body);
        }
    }

    private struct ForwardBody : IParallelBody
    {
        public float* X, W, B, Y, Mean, Rstd;
        public int C, S, G;
        public float Eps;

        public void Execute(int chunk, int start, int end)
        {
            int cpg = C / G;
            long m = (long)cpg * S;
            for (int b = start; b < end; b++)
            {
                // Block b = sample b / G, group b % G: its channels are contiguous, so the block is one run of m values.
                long o = b * m;
                double mean = Sum(X + o, (nint)m) / m;
                double rstd = 1.0 / Math.Sqrt(SumSquaredDeviation(X + o, (nint)m, mean) / m + Eps);
                Mean[b] = (float)mean;
                Rstd[b] = (float)rstd;
                Split(mean, out float hi, out float lo);
                if (W == null && B == null)
                {
                    Affine(X + o, Y + o, (nint)m, hi, lo, (float)rstd, 0f);
                    continue;
                }
                int ch0 = (b % G) * cpg;
                for (int j = 0; j < cpg; j++)
                {
                    int ch = ch0 + j;
                    float scale = (float)(W == null ? rstd : rstd * W[ch]);
                    float shift = B == null ? 0f : B[ch];
                    long oc = o + (long)j * S;
                    Affine(X + oc, Y + oc, S, hi, lo, scale, shift);
                }
            }
        }
    }

    private struct BackwardBody : IParallelBody
    {
        public float* Dy, X, W, Mean, Rstd, Dx, DWeight, DBias;
        public int N, C, S, G;

        public void Execute(int chunk, int start, int end)
        {
            int cpg = C / G;
            long m = (long)cpg * S;
            // Four per-channel accumulators; small groups keep them on the stack, large ones borrow pooled memory.
            int need = 4 * cpg;
            double[]? rented = null;
            Span<double> scratch = need <= 1024 ? stackalloc double[1024] : (rented = ArrayPool<double>.Shared.Rent(need));
            try
            {
                fixed (double* ps = scratch)
                {
                    double* sg = ps, sgd = ps + cpg, accW = ps + 2 * cpg, accB = ps + 3 * cpg;
                    for (int g = start; g < end; g++) RunGroup(g, cpg, m, sg, sgd, accW, accB);
                }
            }
            finally
            {
                if (rented != null) ArrayPool<double>.Shared.Return(rented);
            }
        }

        private readonly void RunGroup(int g, int cpg, long m, double* sg, double* sgd, double* accW, double* accB)
        {
            int ch0 = g * cpg;
            new Span<double>(accW, cpg).Clear();
            new Span<double>(accB, cpg).Clear();
            for (int i = 0; i < N; i++)
            {
                int b = i * G + g;
                long o = b * m;
                float k = Mean[b];
                double rstd = Rstd[b];
                double sd = 0;
                new Span<double>(sg, cpg).Clear();
                new Span<double>(sgd, cpg).Clear();
                for (int j = 0; j < cpg; j++)
                {
                    long oc = o + (long)j * S;
                    AccumulateShifted(X + oc, Dy + oc, S, k, ref sd, ref sg[j], ref sgd[j]);
                }
                // The saved mean is float32; sd/m is what it rounded away, so x̂ uses the exact group mean.
                double delta = sd / m;
                double sumG = 0, sumGXhat = 0;
                for (int j = 0; j < cpg; j++)
                {
                    double w = W == null ? 1.0 : W[ch0 + j];
                    double dyXhat = rstd * (sgd[j] - delta * sg[j]);
                    accW[j] += dyXhat;
                    accB[j] += sg[j];
                    sumG += w * sg[j];
                    sumGXhat += w * dyXhat;
                }
                if (Dx == null) continue;
                float coefX = (float)(-rstd * rstd * sumGXhat / m);
                float constant = (float)(-rstd * sumG / m);
                float d = (float)delta;
                for (int j = 0; j < cpg; j++)
                {
                    float coefDy = (float)(W == null ? rstd : rstd * W[ch0 + j]);
                    long oc = o + (long)j * S;
                    BackwardApply(Dy + oc, X + oc, Dx + oc, S, k, d, coefDy, coefX, constant);
                }
            }
            for (int j = 0; j < cpg; j++)
            {
                if (DWeight != null) DWeight[ch0 + j] = (float)accW[j];
                if (DBias != null) DBias[ch0 + j] = (float)accB[j];
            }
        }
    }

    private static long CheckDims(string op, int n, int c, int spatial, int groups)
    {
        if (n < 1) throw new InvalidValueException(nameof(n), $"{op}: n (batch size) must be at least 1, got {n}.");
        if (c < 1) throw new InvalidValueException(nameof(c), $"{op}: c (channels) must be at least 1, got {c}.");
        if (spatial < 1) throw new InvalidValueException(nameof(spatial), $"{op}: spatial size must be at least 1, got {spatial}.");
        if (groups < 1) throw new InvalidValueException(nameof(groups), $"{op}: groups must be at least 1, got {groups}.");
        if (c % groups != 0)
            throw new InvalidValueException(nameof(groups), $"{op}: {c} channels cannot be split into {groups} equal groups ({c} % {groups} = {c % groups}).");
        long total = (long)n * c * spatial;
        if (total > Array.MaxLength)
            throw new InvalidValueException(nameof(n), $"{op}: input size [{n}, {c}, {spatial}] has {total} elements, more than a span can hold.");
        return total;
    }

    private static void CheckLength(string op, string name, int actual, long expected, int n, int c, int spatial)
    {
        if (actual != expected)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but the input size [{n}, {c}, {spatial}] needs {expected}.");
    }

    private static void CheckStats(string op, string name, int actual, int n, int groups)
    {
        if (actual != (long)n * groups)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but needs n·groups = {n}·{groups} = {(long)n * groups}.");
    }

    private static void CheckOptional(string op, string name, int actual, int c)
    {
        if (actual != 0 && actual != c)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but there are {c} channels (pass an empty span to leave it out).");
    }
}
