using System.Runtime.CompilerServices;
using NormSharp.Errors;
using NormSharp.Kernels.Simd;
using static NormSharp.Kernels.Normalization.NormalizationArguments;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Batch normalization over x laid out as [N, C, L] (L = 1 for an [N, C] input): each channel is normalized with
/// statistics taken over its N·L values. A thin adapter over the normalization core: with L = 1 a channel is a
/// column (<see cref="ColumnGroups"/>), otherwise N runs of L values (<see cref="SegmentGroups"/>); both use the
/// core's statistics (<see cref="Moments"/>) and element-wise steps (<see cref="NormalizeStep"/>). Work is split over
/// channels, each channel's sums taken by one thread in a fixed order.
/// An empty weight or bias span means the affine transform is off (weight 1, bias 0); every output span is
/// overwritten, never accumulated into. An empty gradient output span means that gradient is not wanted.
/// </summary>
public static unsafe class BatchNormKernels
{
    /// <summary>Elements per parallel chunk below which splitting further costs more than it saves (64 KB of floats).</summary>
    private const int GrainElements = 16384;

    /// <summary>Channels whose per-channel constants live on the stack at once in the [N, C] layout.</summary>
    private const int Block = 256;

    /// <summary>
    /// Training-mode forward: normalizes with the batch statistics (biased variance over N and L), writes the
    /// batch mean and 1/sqrt(var + eps) to <paramref name="saveMean"/> and <paramref name="saveInvStd"/> for the
    /// backward pass, and, unless both running spans are empty, updates them in place as
    /// <c>running = (1 - momentum)·running + momentum·stat</c> with the unbiased variance (times N·L/(N·L - 1)).
    /// </summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match n, c and l.</exception>
    /// <exception cref="InvalidValueException">A size is not positive, N·L is 1, eps is negative or not finite, or momentum is outside [0, 1].</exception>
    public static void ForwardTraining(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        Span<float> saveMean, Span<float> saveInvStd, Span<float> runningMean, Span<float> runningVar,
        int n, int c, int l, float eps, float momentum)
    {
        const string op = "BatchNorm.ForwardTraining";
        var shape = CheckDims(op, n, c, l, out long total);
        if ((long)n * l == 1)
            throw new InvalidValueException(nameof(x), $"{op}: Expected more than 1 value per channel when training, got input size {shape}.");
        CheckEps(op, eps);
        if (!(momentum >= 0 && momentum <= 1))
            throw new InvalidValueException(nameof(momentum), $"{op}: momentum must be in [0, 1], got {momentum}.");
        CheckLength(op, nameof(x), x.Length, total, shape);
        CheckLength(op, nameof(y), y.Length, total, shape);
        CheckOptional(op, nameof(weight), weight.Length, c, "channels");
        CheckOptional(op, nameof(bias), bias.Length, c, "channels");
        CheckPerUnit(op, nameof(saveMean), saveMean.Length, c, "channels");
        CheckPerUnit(op, nameof(saveInvStd), saveInvStd.Length, c, "channels");
        if (runningMean.IsEmpty != runningVar.IsEmpty)
            throw new ShapeMismatchException($"{op}: runningMean has {runningMean.Length} elements and runningVar {runningVar.Length}; track both (C = {c} each) or neither (both empty).");
        CheckOptional(op, nameof(runningMean), runningMean.Length, c, "channels");
        CheckOptional(op, nameof(runningVar), runningVar.Length, c, "channels");

        fixed (float* px = x, pw = weight, pb = bias, py = y, psm = saveMean, psi = saveInvStd, prm = runningMean, prv = runningVar)
        {
            var body = new ForwardBody
            {
                Training = true, X = px, W = weight.IsEmpty ? null : pw, B = bias.IsEmpty ? null : pb, Y = py,
                SaveMean = psm, SaveInvStd = psi, RunMean = runningMean.IsEmpty ? null : prm, RunVar = runningVar.IsEmpty ? null : prv,
                N = n, C = c, L = l, Eps = eps, Momentum = momentum,
            };
            WidthParallel.Run(c, ChannelGrain(n, l), ref body);
        }
    }

    /// <summary>Inference-mode forward: y = (x - runningMean)/sqrt(runningVar + eps)·weight + bias; the running statistics are only read.</summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match n, c and l.</exception>
    /// <exception cref="InvalidValueException">A size is not positive, or eps is negative or not finite.</exception>
    public static void ForwardInference(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, Span<float> y, int n, int c, int l, float eps)
    {
        const string op = "BatchNorm.ForwardInference";
        var shape = CheckDims(op, n, c, l, out long total);
        CheckEps(op, eps);
        CheckLength(op, nameof(x), x.Length, total, shape);
        CheckLength(op, nameof(y), y.Length, total, shape);
        CheckOptional(op, nameof(weight), weight.Length, c, "channels");
        CheckOptional(op, nameof(bias), bias.Length, c, "channels");
        CheckPerUnit(op, nameof(runningMean), runningMean.Length, c, "channels");
        CheckPerUnit(op, nameof(runningVar), runningVar.Length, c, "channels");

        fixed (float* px = x, pw = weight, pb = bias, prm = runningMean, prv = runningVar, py = y)
        {
            var body = new ForwardBody
            {
                Training = false, X = px, W = weight.IsEmpty ? null : pw, B = bias.IsEmpty ? null : pb, Y = py,
                RunMean = prm, RunVar = prv, N = n, C = c, L = l, Eps = eps,
            };
            WidthParallel.Run(c, ChannelGrain(n, l), ref body);
        }
    }

    /// <summary>
    /// Training-mode backward, given the <paramref name="saveMean"/> and <paramref name="saveInvStd"/> written by
    /// <see cref="ForwardTraining"/>: dx = w·invstd·(dy - mean(dy) - x̂·mean(dy·x̂)), dweight = Σ dy·x̂, dbias = Σ dy
    /// (sums over N and L). Any of <paramref name="dx"/>, <paramref name="dweight"/>, <paramref name="dbias"/> may be
    /// empty when not wanted.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match n, c and l.</exception>
    /// <exception cref="InvalidValueException">A size is not positive.</exception>
    public static void BackwardTraining(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> saveMean, ReadOnlySpan<float> saveInvStd, Span<float> dx, Span<float> dweight, Span<float> dbias,
        int n, int c, int l)
    {
        const string op = "BatchNorm.BackwardTraining";
        var shape = CheckDims(op, n, c, l, out long total);
        CheckLength(op, nameof(dy), dy.Length, total, shape);
        CheckLength(op, nameof(x), x.Length, total, shape);
        CheckOptional(op, nameof(weight), weight.Length, c, "channels");
        CheckPerUnit(op, nameof(saveMean), saveMean.Length, c, "channels");
        CheckPerUnit(op, nameof(saveInvStd), saveInvStd.Length, c, "channels");
        if (!dx.IsEmpty) CheckLength(op, nameof(dx), dx.Length, total, shape);
        CheckOptional(op, nameof(dweight), dweight.Length, c, "channels");
        CheckOptional(op, nameof(dbias), dbias.Length, c, "channels");

        fixed (float* pdy = dy, px = x, pw = weight, psm = saveMean, psi = saveInvStd, pdx = dx, pdw = dweight, pdb = dbias)
        {
            var body = new BackwardBody
            {
                Training = true, Dy = pdy, X = px, W = weight.IsEmpty ? null : pw, Mean = psm, InvStd = psi,
                Dx = dx.IsEmpty ? null : pdx, DWeight = dweight.IsEmpty ? null : pdw, DBias = dbias.IsEmpty ? null : pdb,
                N = n, C = c, L = l,
            };
            WidthParallel.Run(c, ChannelGrain(n, l), ref body);
        }
    }

    /// <summary>
    /// Inference-mode backward (the statistics are constants): dx = dy·w/sqrt(runningVar + eps),
    /// dweight = Σ dy·(x - runningMean)/sqrt(runningVar + eps), dbias = Σ dy. The parameters follow
    /// <see cref="BackwardTraining"/>'s order (upstream gradient, forward inputs, statistics, outputs, sizes) with
    /// eps last as in the forward. <paramref name="x"/> and <paramref name="runningMean"/> are read only for
    /// dweight and may be empty when <paramref name="dweight"/> is; any output may be empty when not wanted.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match n, c and l.</exception>
    /// <exception cref="InvalidValueException">A size is not positive, or eps is negative or not finite.</exception>
    public static void BackwardInference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, Span<float> dx, Span<float> dweight, Span<float> dbias,
        int n, int c, int l, float eps)
    {
        const string op = "BatchNorm.BackwardInference";
        var shape = CheckDims(op, n, c, l, out long total);
        CheckEps(op, eps);
        CheckLength(op, nameof(dy), dy.Length, total, shape);
        CheckOptional(op, nameof(weight), weight.Length, c, "channels");
        CheckPerUnit(op, nameof(runningVar), runningVar.Length, c, "channels");
        if (!dx.IsEmpty) CheckLength(op, nameof(dx), dx.Length, total, shape);
        CheckOptional(op, nameof(dweight), dweight.Length, c, "channels");
        CheckOptional(op, nameof(dbias), dbias.Length, c, "channels");
        bool withX = !dweight.IsEmpty;
        if (withX)
        {
            CheckLength(op, nameof(x), x.Length, total, shape);
            CheckPerUnit(op, nameof(runningMean), runningMean.Length, c, "channels");
        }

        float[] zeros = KernelScratch.Floats(c + 16);
        Array.Clear(zeros, 0, c + 16);
        fixed (float* pdy = dy, px = x, pw = weight, prm = runningMean, prv = runningVar, pdx = dx, pdw = dweight, pdb = dbias, pz = zeros)
        {
            // Without dweight, x is not needed: dy stands in for it about a zero mean, and only Σ dy is kept.
            var body = new BackwardBody
            {
                Training = false, Dy = pdy, X = withX ? px : pdy, W = weight.IsEmpty ? null : pw, Mean = withX ? prm : pz, RunVar = prv, Eps = eps,
                Dx = dx.IsEmpty ? null : pdx, DWeight = dweight.IsEmpty ? null : pdw, DBias = dbias.IsEmpty ? null : pdb,
                N = n, C = c, L = l,
            };
            WidthParallel.Run(c, ChannelGrain(n, l), ref body);
        }
    }

    /// <summary>
    /// Channels per parallel chunk. In the [N, C] layout a chunk owns a slice of every row, so it takes at least
    /// 16 channels (a 64-byte cache line of output per row) to keep threads from writing to the same lines.
    /// </summary>
    private static int ChannelGrain(int n, int l) => (int)Math.Max(l == 1 ? 16 : 1, GrainElements / ((long)n * l));

    private struct ForwardBody : IParallelWidthBody
    {
        public bool Training;
        public float* X, W, B, Y, SaveMean, SaveInvStd, RunMean, RunVar;
        public int N, C, L;
        public float Eps, Momentum;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            if (L == 1) Columns<TV>(start, end);
            else for (int ch = start; ch < end; ch++) Channel<TV>(ch);
        }

        private readonly void Channel<TV>(int ch) where TV : unmanaged, IFloatVector<TV>
        {
            nint stride = (nint)C * L;
            float* x = X + (nint)ch * L;
            float hi, lo, rstd;
            if (Training)
            {
                SegmentGroups.Statistics<TV>(x, stride, N, L, Eps, out double mean, out double variance, out rstd);
                Record(ch, mean, variance, rstd);
                Moments.Split(mean, out hi, out lo);
            }
            else
            {
                hi = RunMean[ch];
                lo = 0f;
                rstd = InferenceRstd(RunVar[ch], Eps);
            }
            SegmentGroups.Forward<TV>(x, Y + (nint)ch * L, stride, N, L, hi, lo, rstd, W, B, ch, 0);
        }

        private readonly void Columns<TV>(int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            float* hi = stackalloc float[Block + 16], lo = stackalloc float[Block + 16], r = stackalloc float[Block + 16];
            double* s1 = stackalloc double[Block + 16], s2 = stackalloc double[Block + 16];
            for (int c0 = start; c0 < end; c0 += Block)
            {
                int count = Math.Min(Block, end - c0);
                if (Training)
                {
                    new Span<double>(s1, count).Clear();
                    new Span<double>(s2, count).Clear();
                    ColumnGroups.Statistics<TV>(X + c0, C, N, count, s1, s2);
                    for (int j = 0; j < count; j++)
                    {
                        Moments.Finish(X[c0 + j], s1[j], s2[j], N, Eps, out double mean, out double variance, out r[j]);
                        Record(c0 + j, mean, variance, r[j]);
                        Moments.Split(mean, out hi[j], out lo[j]);
                    }
                }
                else
                {
                    for (int j = 0; j < count; j++)
                    {
                        hi[j] = RunMean[c0 + j];
                        lo[j] = 0f;
                        r[j] = InferenceRstd(RunVar[c0 + j], Eps);
                    }
                }
                var k = new ChannelConstants { Hi = hi, Lo = lo, R = r };
                ColumnGroups.Forward<TV>(X + c0, Y + c0, C, N, count, k, W == null ? null : W + c0, B == null ? null : B + c0);
            }
        }

        /// <summary>Saves the batch statistics and moves the running ones towards them.</summary>
        private readonly void Record(int ch, double mean, double variance, float rstd)
        {
            SaveMean[ch] = (float)mean;
            SaveInvStd[ch] = rstd;
            if (RunMean == null) return;
            double m = (double)N * L, mom = Momentum;
            RunMean[ch] = (float)((1 - mom) * RunMean[ch] + mom * mean);
            RunVar[ch] = (float)((1 - mom) * RunVar[ch] + mom * (variance * m / (m - 1)));
        }
    }

    private static float InferenceRstd(float runningVar, float eps) => (float)(1.0 / Math.Sqrt((double)runningVar + eps));

    private struct BackwardBody : IParallelWidthBody
    {
        public bool Training;
        public float* Dy, X, W, Mean, InvStd, RunVar, Dx, DWeight, DBias;
        public int N, C, L;
        public float Eps;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            if (L == 1) Columns<TV>(start, end);
            else for (int ch = start; ch < end; ch++) Channel<TV>(ch);
        }

        private readonly void Channel<TV>(int ch) where TV : unmanaged, IFloatVector<TV>
        {
            nint stride = (nint)C * L;
            nint o = (nint)ch * L;
            double sumDy = 0, sumDyD = 0;
            double sumD = SegmentGroups.Sums<TV>(X + o, Dy + o, stride, N, L, Mean[ch], &sumDy, &sumDyD, 0);
            var k = Finish(ch, sumDy, sumDyD, sumD);
            if (Dx != null) SegmentGroups.Backward<TV>(X + o, Dy + o, Dx + o, stride, N, L, k, W, ch, 0);
        }

        private readonly void Columns<TV>(int start, int end) where TV : unmanaged, IFloatVector<TV>
        {
            float* hi = stackalloc float[Block + 16], lo = stackalloc float[Block + 16], r = stackalloc float[Block + 16];
            float* mg = stackalloc float[Block + 16], mgx = stackalloc float[Block + 16];
            double* sg = stackalloc double[Block + 16], sgd = stackalloc double[Block + 16], sd = stackalloc double[Block + 16];
            for (int c0 = start; c0 < end; c0 += Block)
            {
                int count = Math.Min(Block, end - c0);
                new Span<double>(sg, count).Clear();
                new Span<double>(sgd, count).Clear();
                new Span<double>(sd, count).Clear();
                ColumnGroups.Sums<TV>(X + c0, Dy + c0, Mean + c0, C, N, count, sg, sgd, sd);
                for (int j = 0; j < count; j++)
                {
                    var k = Finish(c0 + j, sg[j], sgd[j], sd[j]);
                    hi[j] = k.Hi;
                    lo[j] = k.Lo;
                    r[j] = k.R;
                    mg[j] = k.MeanG;
                    mgx[j] = k.MeanGXhat;
                }
                if (Dx != null)
                    ColumnGroups.Backward<TV>(X + c0, Dy + c0, Dx + c0, C, N, count, new ChannelConstants { Hi = hi, Lo = lo, R = r, MeanG = mg, MeanGXhat = mgx }, W == null ? null : W + c0);
            }
        }

        /// <summary>
        /// A channel's parameter gradients and backward constants from its sums. In training the saved float mean is
        /// corrected by Σ(x − hi)/M; in inference the running statistics are constants, so mean(g) and mean(g·x̂) are 0.
        /// </summary>
        private readonly RowConstants Finish(int ch, double sumDy, double sumDyD, double sumD)
        {
            double m = (double)N * L;
            float r = Training ? InvStd[ch] : InferenceRstd(RunVar[ch], Eps);
            double lo = Training ? sumD / m : 0.0;
            if (DBias != null) DBias[ch] = (float)sumDy;
            if (DWeight != null) DWeight[ch] = (float)(r * (sumDyD - lo * sumDy));
            if (!Training) return new RowConstants { Hi = Mean[ch], R = r };
            double w = W == null ? 1.0 : W[ch];
            return RowConstants.From(true, Mean[ch], r, w * sumDy, w * sumDyD, sumD, m);
        }
    }

    private static InputShape CheckDims(string op, int n, int c, int l, out long total)
    {
        CheckSize(op, nameof(n), "n (batch size)", n, 1);
        CheckSize(op, nameof(c), "c (channels)", c, 1);
        CheckSize(op, nameof(l), "l (length per channel)", l, 1);
        var shape = l == 1 ? new InputShape(n, c) : new InputShape(n, c, l);
        total = CheckTotal(op, shape);
        return shape;
    }
}
