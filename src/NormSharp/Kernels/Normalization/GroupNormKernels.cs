using System.Runtime.CompilerServices;
using NormSharp.Kernels.Simd;
using static NormSharp.Kernels.Normalization.NormalizationArguments;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Group normalization over x laid out as [N, C, spatial]: the C channels of each sample are split into
/// <c>groups</c> consecutive groups, each normalized with its own mean and biased variance over its
/// (C/groups)·spatial values, then scaled and shifted per channel. A thin adapter over the normalization core's
/// segment layout (<see cref="SegmentGroups"/>): a (sample, group) block is C/groups runs of the spatial size.
/// An empty weight or bias span means the affine transform is off; outputs are overwritten, never accumulated
/// into, and an empty gradient output span means that gradient is not wanted.
/// </summary>
public static unsafe class GroupNormKernels
{
    /// <summary>Elements per parallel chunk below which splitting further costs more than it saves (64 KB of floats).</summary>
    private const int GrainElements = 16384;

    /// <summary>
    /// Forward: y = (x - mean)·rstd·weight[c] + bias[c]. Writes each (sample, group)'s mean and
    /// rstd = 1/sqrt(var + eps) to <paramref name="mean"/> and <paramref name="rstd"/> (N·groups each, sample-major).
    /// </summary>
    /// <exception cref="Errors.ShapeMismatchException">A span's length does not match the sizes.</exception>
    /// <exception cref="Errors.InvalidValueException">A size is not positive, c is not a multiple of groups, or eps is negative or not finite.</exception>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        Span<float> mean, Span<float> rstd, int n, int c, int spatial, int groups, float eps)
    {
        const string op = "GroupNorm.Forward";
        var shape = CheckDims(op, n, c, spatial, groups, out long total);
        CheckEps(op, eps);
        CheckLength(op, nameof(x), x.Length, total, shape);
        CheckLength(op, nameof(y), y.Length, total, shape);
        CheckOptional(op, nameof(weight), weight.Length, c, "channels");
        CheckOptional(op, nameof(bias), bias.Length, c, "channels");
        CheckStats(op, nameof(mean), mean.Length, n, groups);
        CheckStats(op, nameof(rstd), rstd.Length, n, groups);

        fixed (float* px = x, pw = weight, pb = bias, py = y, pm = mean, pr = rstd)
        {
            var body = new ForwardBody
            {
                X = px, W = weight.IsEmpty ? null : pw, B = bias.IsEmpty ? null : pb, Y = py, Mean = pm, Rstd = pr,
                Cpg = c / groups, S = spatial, G = groups, Eps = eps,
            };
            long blockSize = (long)(c / groups) * spatial;
            WidthParallel.Run(n * groups, (int)Math.Max(1, GrainElements / blockSize), ref body);
        }
    }

    /// <summary>
    /// Backward, given the <paramref name="mean"/> and <paramref name="rstd"/> written by <see cref="Forward"/>:
    /// within each (sample, group) of M values, dx = rstd·(g - mean(g) - x̂·mean(g·x̂)) with g = dy·weight[c];
    /// dweight[c] = Σ dy·x̂ and dbias[c] = Σ dy over samples and spatial positions. Work is split over groups,
    /// each group's samples summed in order, so the result does not depend on the thread count.
    /// </summary>
    /// <exception cref="Errors.ShapeMismatchException">A span's length does not match the sizes.</exception>
    /// <exception cref="Errors.InvalidValueException">A size is not positive or c is not a multiple of groups.</exception>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, Span<float> dx, Span<float> dweight, Span<float> dbias,
        int n, int c, int spatial, int groups)
    {
        const string op = "GroupNorm.Backward";
        var shape = CheckDims(op, n, c, spatial, groups, out long total);
        CheckLength(op, nameof(dy), dy.Length, total, shape);
        CheckLength(op, nameof(x), x.Length, total, shape);
        CheckOptional(op, nameof(weight), weight.Length, c, "channels");
        CheckStats(op, nameof(mean), mean.Length, n, groups);
        CheckStats(op, nameof(rstd), rstd.Length, n, groups);
        if (!dx.IsEmpty) CheckLength(op, nameof(dx), dx.Length, total, shape);
        CheckOptional(op, nameof(dweight), dweight.Length, c, "channels");
        CheckOptional(op, nameof(dbias), dbias.Length, c, "channels");

        fixed (float* pdy = dy, px = x, pw = weight, pm = mean, pr = rstd, pdx = dx, pdw = dweight, pdb = dbias)
        {
            var body = new BackwardBody
            {
                Dy = pdy, X = px, W = weight.IsEmpty ? null : pw, Mean = pm, Rstd = pr, Dx = dx.IsEmpty ? null : pdx,
                DWeight = dweight.IsEmpty ? null : pdw, DBias = dbias.IsEmpty ? null : pdb, N = n, Cpg = c / groups, S = spatial, G = groups,
            };
            long groupSize = (long)n * (c / groups) * spatial;
            WidthParallel.Run(groups, (int)Math.Max(1, GrainElements / groupSize), ref body);
        }
    }

    private struct ForwardBody : IParallelWidthBody
    {
        public float* X, W, B, Y, Mean, Rstd;
        public int Cpg, S, G;
        public float Eps;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            long m = (long)Cpg * S;
            for (int b = start; b < end; b++)
            {
                // Block b is sample b / G, group b % G: its channels are contiguous, so the block is Cpg runs of S values.
                float* x = X + b * m;
                SegmentGroups.Statistics<TV>(x, S, Cpg, S, Eps, out double mean, out _, out float rstd);
                Moments.Split(mean, out float hi, out float lo);
                Mean[b] = hi;
                Rstd[b] = rstd;
                SegmentGroups.Forward<TV>(x, Y + b * m, S, Cpg, S, hi, lo, rstd, W, B, (b % G) * Cpg, 1);
            }
        }
    }

    private struct BackwardBody : IParallelWidthBody
    {
        public float* Dy, X, W, Mean, Rstd, Dx, DWeight, DBias;
        public int N, Cpg, S, G;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            // Per channel of the group: Σdy and Σdy·(x − hi) of the current sample, and the parameter gradients over samples.
            double[] scratch = KernelScratch.Doubles(4 * Cpg);
            fixed (double* ps = scratch)
            {
                for (int g = start; g < end; g++) Group<TV>(g, ps, ps + Cpg, ps + 2 * Cpg, ps + 3 * Cpg);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Group<TV>(int g, double* sumDy, double* sumDyD, double* accW, double* accB) where TV : unmanaged, IFloatVector<TV>
        {
            int ch0 = g * Cpg;
            long m = (long)Cpg * S;
            new Span<double>(accW, Cpg).Clear();
            new Span<double>(accB, Cpg).Clear();
            for (int i = 0; i < N; i++)
            {
                int b = i * G + g;
                float* x = X + b * m, dy = Dy + b * m;
                float hi = Mean[b], r = Rstd[b];
                new Span<double>(sumDy, Cpg).Clear();
                new Span<double>(sumDyD, Cpg).Clear();
                double sumD = SegmentGroups.Sums<TV>(x, dy, S, Cpg, S, hi, sumDy, sumDyD, 1);
                double lo = sumD / m, sumG = 0, sumGD = 0;
                for (int j = 0; j < Cpg; j++)
                {
                    double w = W == null ? 1.0 : W[ch0 + j];
                    sumG += w * sumDy[j];
                    sumGD += w * sumDyD[j];
                    accW[j] += r * (sumDyD[j] - lo * sumDy[j]);
                    accB[j] += sumDy[j];
                }
                if (Dx == null) continue;
                var k = RowConstants.From(true, hi, r, sumG, sumGD, sumD, m);
                SegmentGroups.Backward<TV>(x, dy, Dx + b * m, S, Cpg, S, k, W, ch0, 1);
            }
            for (int j = 0; j < Cpg; j++)
            {
                if (DWeight != null) DWeight[ch0 + j] = (float)accW[j];
                if (DBias != null) DBias[ch0 + j] = (float)accB[j];
            }
        }
    }

    private static InputShape CheckDims(string op, int n, int c, int spatial, int groups, out long total)
    {
        CheckSize(op, nameof(n), "n (batch size)", n, 1);
        CheckSize(op, nameof(c), "c (channels)", c, 1);
        CheckSize(op, nameof(spatial), "spatial size", spatial, 1);
        CheckSize(op, nameof(groups), "groups", groups, 1);
        if (c % groups != 0)
            throw new Errors.InvalidValueException(nameof(groups), $"{op}: {c} channels cannot be split into {groups} equal groups ({c} % {groups} = {c % groups}).");
        var shape = new InputShape(n, c, spatial);
        total = CheckTotal(op, shape);
        return shape;
    }

    private static void CheckStats(string op, string name, int actual, int n, int groups)
    {
        if (actual != (long)n * groups)
            throw new Errors.ShapeMismatchException($"{op}: {name} has {actual} elements but there are n·groups = {n}·{groups} = {(long)n * groups} (sample, group) blocks.");
    }
}
