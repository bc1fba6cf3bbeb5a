using NormSharp.Errors;
using NormSharp.Threading;
using static NormSharp.Kernels.Normalization.ChannelNormSimd;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// Batch normalization over x laid out as [N, C, L] (L = 1 for an [N, C] input): each channel is normalized with
/// statistics taken over its N·L values. Channel statistics are computed in double with two passes, so a channel
/// whose mean is large next to its spread keeps float32 accuracy. Work is split over channels.
/// An empty weight or bias span means the affine transform is off (weight 1, bias 0); every output span is
/// overwritten, never accumulated into. An empty gradient output span means that gradient is not wanted.
/// </summary>
public static unsafe class BatchNormKernels
{
    /// <summary>Elements per parallel chunk below which splitting further costs more than it saves (64 KB of floats).</summary>
    private const int GrainElements = 16384;

    /// <summary>Channels whose per-channel constants live on the stack at once.</summary>
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
        long total = CheckDims(op, n, c, l);
        if ((long)n * l == 1)
            throw new InvalidValueException(nameof(x), $"{op}: Expected more than 1 value per channel when training, got input size {Describe(n, c, l)}.");
        CheckEps(op, eps);
        if (!(momentum >= 0 && momentum <= 1))
            throw new InvalidValueException(nameof(momentum), $"{op}: momentum must be in [0, 1], got {momentum}.");
        CheckLength(op, nameof(x), x.Length, total, n, c, l);
        CheckLength(op, nameof(y), y.Length, total, n, c, l);
        CheckOptional(op, nameof(weight), weight.Length, c);
        CheckOptional(op, nameof(bias), bias.Length, c);
        CheckChannels(op, nameof(saveMean), saveMean.Length, c);
        CheckChannels(op, nameof(saveInvStd), saveInvStd.Length, c);
        if (runningMean.IsEmpty != runningVar.IsEmpty)
            throw new ShapeMismatchException($"{op}: runningMean has {runningMean.Length} elements and runningVar {runningVar.Length}; track both (C = {c} each) or neither (both empty).");
        CheckOptional(op, nameof(runningMean), runningMean.Length, c);
        CheckOptional(op, nameof(runningVar), runningVar.Length, c);

        fixed (float* px = x, pw = weight, pb = bias, py = y, psm = saveMean, psi = saveInvStd, prm = runningMean, prv = runningVar)
        {
            var body = new TrainForwardBody
            {
                X = px, W = pw, B = pb, Y = py, SaveMean = psm, SaveInvStd = psi, RunMean = prm, RunVar = prv,
                N = n, C = c, L = l, Eps = eps, Momentum = momentum,
            };
            ParallelFor.Run(c, ChannelGrain(n, l), ref body);
        }
    }

    /// <summary>Inference-mode forward: y = (x - runningMean)/sqrt(runningVar + eps)·weight + bias; the running statistics are only read.</summary>
    /// <exception cref="ShapeMismatchException">A span's length does not match n, c and l.</exception>
    /// <exception cref="InvalidValueException">A size is not positive, or eps is negative or not finite.</exception>
    public static void ForwardInference(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, Span<float> y, int n, int c, int l, float eps)
    {
        const string op = "BatchNorm.ForwardInference";
        long total = CheckDims(op, n, c, l);
        CheckEps(op, eps);
        CheckLength(op, nameof(x), x.Length, total, n, c, l);
        CheckLength(op, nameof(y), y.Length, total, n, c, l);
        CheckOptional(op, nameof(weight), weight.Length, c);
        CheckOptional(op, nameof(bias), bias.Length, c);
        CheckChannels(op, nameof(runningMean), runningMean.Length, c);
        CheckChannels(op, nameof(runningVar), runningVar.Length, c);

        fixed (float* px = x, pw = weight, pb = bias, prm = runningMean, prv = runningVar, py = y)
        {
            var body = new InferenceForwardBody { X = px, W = pw, B = pb, RunMean = prm, RunVar = prv, Y = py, N = n, C = c, L = l, Eps = eps };
            ParallelFor.Run(c, ChannelGrain(n, l), ref body);
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
        long total = CheckDims(op, n, c, l);
        CheckLength(op, nameof(dy), dy.Length, total, n, c, l);
        CheckLength(op, nameof(x), x.Length, total, n, c, l);
        CheckOptional(op, nameof(weight), weight.Length, c);
        CheckChannels(op, nameof(saveMean), saveMean.Length, c);
        CheckChannels(op, nameof(saveInvStd), saveInvStd.Length, c);
        if (!dx.IsEmpty) CheckLength(op, nameof(dx), dx.Length, total, n, c, l);
        CheckOptional(op, nameof(dweight), dweight.Length, c);
        CheckOptional(op, nameof(dbias), dbias.Length, c);

        fixed (float* pdy = dy, px = x, pw = weight, psm = saveMean, psi = saveInvStd, pdx = dx, pdw = dweight, pdb = dbias)
        {
            var body = new TrainBackwardBody
            {
                Dy = pdy, X = px, W = pw, SaveMean = psm, SaveInvStd = psi, Dx = pdx, DWeight = pdw, DBias = pdb,
                N = n, C = c, L = l,
            };
            ParallelFor.Run(c, ChannelGrain(n, l), ref body);
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
        long total = CheckDims(op, n, c, l);
        CheckEps(op, eps);
        CheckLength(op, nameof(dy), dy.Length, total, n, c, l);
        CheckOptional(op, nameof(weight), weight.Length, c);
        CheckChannels(op, nameof(runningVar), runningVar.Length, c);
        if (!dx.IsEmpty) CheckLength(op, nameof(dx), dx.Length, total, n, c, l);
        CheckOptional(op, nameof(dweight), dweight.Length, c);
        CheckOptional(op, nameof(dbias), dbias.Length, c);
        if (!dweight.IsEmpty)
        {
            CheckLength(op, nameof(x), x.Length, total, n, c, l);
            CheckChannels(op, nameof(runningMean), runningMean.Length, c);
        }

        fixed (float* pdy = dy, px = x, pw = weight, prm = runningMean, prv = runningVar, pdx = dx, pdw = dweight, pdb = dbias)
        {
            var body = new InferenceBackwardBody
            {
                Dy = pdy, X = px, W = pw, RunMean = prm, RunVar = prv, Dx = pdx, DWeight = pdw, DBias = pdb,
                N = n, C = c, L = l, Eps = eps,
            };
            ParallelFor.Run(c, ChannelGrain(n, l), ref body);
        }
    }

    /// <summary>
    /// Channels per parallel chunk. In the [N, C] layout a chunk owns a slice of every row, so it takes at least
    /// 16 channels (a 64-byte cache line of output per row) to keep threads from writing to the same lines.
    /// </summary>
    private static int ChannelGrain(int n, int l) => (int)Math.Max(l == 1 ? 16 : 1, GrainElements / ((long)n * l));

    private struct TrainForwardBody : IParallelBody
    {
        public float* X, W, B, Y, SaveMean, SaveInvStd, RunMean, RunVar;
        public int N, C, L;
        public float Eps, Momentum;

        public void Execute(int chunk, int start, int end)
        {
            float* hi = stackalloc float[Block], lo = stackalloc float[Block], scale = stackalloc float[Block], shift = stackalloc float[Block];
            double* sum = stackalloc double[Block], sq = stackalloc double[Block];
            double m = (double)N * L;
            for (int c0 = start; c0 < end; c0 += Block)
            {
                int count = Math.Min(Block, end - c0);
                if (L == 1)
                {
                    new Span<double>(sum, count).Clear();
                    new Span<double>(sq, count).Clear();
                    for (int i = 0; i < N; i++) ColumnSum(X + (long)i * C + c0, sum, count);
                    for (int j = 0; j < count; j++) sum[j] /= m;
                    for (int i = 0; i < N; i++) ColumnSquaredDeviation(X + (long)i * C + c0, sum, sq, count);
                    for (int j = 0; j < count; j++) Finish(c0 + j, sum[j], sq[j] / m, m, out hi[j], out lo[j], out scale[j], out shift[j]);
                    for (int i = 0; i < N; i++) ColumnAffine(X + (long)i * C + c0, Y + (long)i * C + c0, hi, lo, scale, shift, count);
                }
                else
                {
                    for (int j = 0; j < count; j++)
                    {
                        int ch = c0 + j;
                        double s = 0;
                        for (int i = 0; i < N; i++) s += Sum(X + ((long)i * C + ch) * L, L);
                        double mean = s / m;
                        double q = 0;
                        for (int i = 0; i < N; i++) q += SumSquaredDeviation(X + ((long)i * C + ch) * L, L, mean);
                        Finish(ch, mean, q / m, m, out float h, out float lw, out float sc, out float sh);
                        for (int i = 0; i < N; i++)
                        {
                            long o = ((long)i * C + ch) * L;
                            Affine(X + o, Y + o, L, h, lw, sc, sh);
                        }
                    }
                }
            }
        }

        private readonly void Finish(int ch, double mean, double variance, double m, out float hi, out float lo, out float scale, out float shift)
        {
            double invStd = 1.0 / Math.Sqrt(variance + Eps);
            SaveMean[ch] = (float)mean;
            SaveInvStd[ch] = (float)invStd;
            if (RunMean != null)
            {
                double mom = Momentum;
                RunMean[ch] = (float)((1 - mom) * RunMean[ch] + mom * mean);
                RunVar[ch] = (float)((1 - mom) * RunVar[ch] + mom * (variance * m / (m - 1)));
            }
            Split(mean, out hi, out lo);
            scale = (float)(W == null ? invStd : invStd * W[ch]);
            shift = B == null ? 0f : B[ch];
        }
    }

    private struct InferenceForwardBody : IParallelBody
    {
        public float* X, W, B, RunMean, RunVar, Y;
        public int N, C, L;
        public float Eps;

        public void Execute(int chunk, int start, int end)
        {
            float* zero = stackalloc float[Block], scale = stackalloc float[Block], shift = stackalloc float[Block];
            new Span<float>(zero, Block).Clear();
            for (int c0 = start; c0 < end; c0 += Block)
            {
                int count = Math.Min(Block, end - c0);
                for (int j = 0; j < count; j++)
                {
                    int ch = c0 + j;
                    double invStd = 1.0 / Math.Sqrt((double)RunVar[ch] + Eps);
                    scale[j] = (float)(W == null ? invStd : invStd * W[ch]);
                    shift[j] = B == null ? 0f : B[ch];
                }
                if (L == 1)
                {
                    for (int i = 0; i < N; i++)
                        ColumnAffine(X + (long)i * C + c0, Y + (long)i * C + c0, RunMean + c0, zero, scale, shift, count);
                }
                else
                {
                    for (int j = 0; j < count; j++)
                    {
                        int ch = c0 + j;
                        for (int i = 0; i < N; i++)
                        {
                            long o = ((long)i * C + ch) * L;
                            Affine(X + o, Y + o, L, RunMean[ch], 0f, scale[j], shift[j]);
                        }
                    }
                }
            }
        }
    }

    private struct TrainBackwardBody : IParallelBody
    {
        public float* Dy, X, W, SaveMean, SaveInvStd, Dx, DWeight, DBias;
        public int N, C, L;

        public void Execute(int chunk, int start, int end)
        {
            float* delta = stackalloc float[Block], coefDy = stackalloc float[Block], coefX = stackalloc float[Block], constant = stackalloc float[Block];
            double* sd = stackalloc double[Block], sg = stackalloc double[Block], sgd = stackalloc double[Block];
            double m = (double)N * L;
            for (int c0 = start; c0 < end; c0 += Block)
            {
                int count = Math.Min(Block, end - c0);
                new Span<double>(sd, count).Clear();
                new Span<double>(sg, count).Clear();
                new Span<double>(sgd, count).Clear();
                if (L == 1)
                {
                    for (int i = 0; i < N; i++)
                        ColumnAccumulateShifted(X + (long)i * C + c0, Dy + (long)i * C + c0, SaveMean + c0, sd, sg, sgd, count);
                }
                else
                {
                    for (int j = 0; j < count; j++)
                    {
                        int ch = c0 + j;
                        for (int i = 0; i < N; i++)
                        {
                            long o = ((long)i * C + ch) * L;
                            AccumulateShifted(X + o, Dy + o, L, SaveMean[ch], ref sd[j], ref sg[j], ref sgd[j]);
                        }
                    }
                }

                for (int j = 0; j < count; j++)
                {
                    int ch = c0 + j;
                    double invStd = SaveInvStd[ch];
                    // The saved mean is float32; sd/m is what it rounded away, so x̂ uses the exact batch mean.
                    double d = sd[j] / m;
                    double sumDy = sg[j];
                    double sumDyXhat = invStd * (sgd[j] - d * sumDy);
                    if (DBias != null) DBias[ch] = (float)sumDy;
                    if (DWeight != null) DWeight[ch] = (float)sumDyXhat;
                    double g = W == null ? invStd : invStd * W[ch];
                    delta[j] = (float)d;
                    coefDy[j] = (float)g;
                    coefX[j] = (float)(-g * invStd * sumDyXhat / m);
                    constant[j] = (float)(-g * sumDy / m);
                }

                if (Dx == null) continue;
                if (L == 1)
                {
                    for (int i = 0; i < N; i++)
                    {
                        long o = (long)i * C + c0;
                        ColumnBackwardApply(Dy + o, X + o, Dx + o, SaveMean + c0, delta, coefDy, coefX, constant, count);
                    }
                }
                else
                {
                    for (int j = 0; j < count; j++)
                    {
                        int ch = c0 + j;
                        for (int i = 0; i < N; i++)
                        {
                            long o = ((long)i * C + ch) * L;
                            BackwardApply(Dy + o, X + o, Dx + o, L, SaveMean[ch], delta[j], coefDy[j], coefX[j], constant[j]);
                        }
                    }
                }
            }
        }
    }

    private struct InferenceBackwardBody : IParallelBody
    {
        public float* Dy, X, W, RunMean, RunVar, Dx, DWeight, DBias;
        public int N, C, L;
        public float Eps;

        public void Execute(int chunk, int start, int end)
        {
            float* zero = stackalloc float[Block], scale = stackalloc float[Block];
            double* sd = stackalloc double[Block], sg = stackalloc double[Block], sgd = stackalloc double[Block];
            new Span<float>(zero, Block).Clear();
            bool reduce = DWeight != null || DBias != null;
            for (int c0 = start; c0 < end; c0 += Block)
            {
                int count = Math.Min(Block, end - c0);
                if (reduce)
                {
                    new Span<double>(sd, count).Clear();
                    new Span<double>(sg, count).Clear();
                    new Span<double>(sgd, count).Clear();
                    // Without dweight, x is not needed: accumulate dy against itself and ignore the product.
                    bool withX = DWeight != null;
                    if (L == 1)
                    {
                        for (int i = 0; i < N; i++)
                        {
                            long o = (long)i * C + c0;
                            ColumnAccumulateShifted(withX ? X + o : Dy + o, Dy + o, withX ? RunMean + c0 : zero, sd, sg, sgd, count);
                        }
                    }
                    else
                    {
                        for (int j = 0; j < count; j++)
                        {
                            int ch = c0 + j;
                            for (int i = 0; i < N; i++)
                            {
                                long o = ((long)i * C + ch) * L;
                                AccumulateShifted(withX ? X + o : Dy + o, Dy + o, L, withX ? RunMean[ch] : 0f, ref sd[j], ref sg[j], ref sgd[j]);
                            }
                        }
                    }
                }

                for (int j = 0; j < count; j++)
                {
                    int ch = c0 + j;
                    double invStd = 1.0 / Math.Sqrt((double)RunVar[ch] + Eps);
                    if (DBias != null) DBias[ch] = (float)sg[j];
                    if (DWeight != null) DWeight[ch] = (float)(invStd * sgd[j]);
                    scale[j] = (float)(W == null ? invStd : invStd * W[ch]);
                }

                if (Dx == null) continue;
                if (L == 1)
                {
                    for (int i = 0; i < N; i++)
                    {
                        long o = (long)i * C + c0;
                        ColumnAffine(Dy + o, Dx + o, zero, zero, scale, zero, count);
                    }
                }
                else
                {
                    for (int j = 0; j < count; j++)
                    {
                        int ch = c0 + j;
                        for (int i = 0; i < N; i++)
                        {
                            long o = ((long)i * C + ch) * L;
                            Affine(Dy + o, Dx + o, L, 0f, 0f, scale[j], 0f);
                        }
                    }
                }
            }
        }
    }

    private static long CheckDims(string op, int n, int c, int l)
    {
        if (n < 1) throw new InvalidValueException(nameof(n), $"{op}: n (batch size) must be at least 1, got {n}.");
        if (c < 1) throw new InvalidValueException(nameof(c), $"{op}: c (channels) must be at least 1, got {c}.");
        if (l < 1) throw new InvalidValueException(nameof(l), $"{op}: l (length per channel) must be at least 1, got {l}.");
        long total = (long)n * c * l;
        if (total > Array.MaxLength)
            throw new InvalidValueException(nameof(n), $"{op}: input size {Describe(n, c, l)} has {total} elements, more than a span can hold.");
        return total;
    }

    private static void CheckEps(string op, float eps)
    {
        if (!(eps >= 0) || float.IsInfinity(eps))
            throw new InvalidValueException(nameof(eps), $"{op}: eps must be finite and non-negative, got {eps}.");
    }

    private static void CheckLength(string op, string name, int actual, long expected, int n, int c, int l)
    {
        if (actual != expected)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but the input size {Describe(n, c, l)} needs {expected}.");
    }

    private static void CheckChannels(string op, string name, int actual, int c)
    {
        if (actual != c)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but there are {c} channels.");
    }

    private static void CheckOptional(string op, string name, int actual, int c)
    {
        if (actual != 0 && actual != c)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but there are {c} channels (pass an empty span to leave it out).");
    }

    private static string Describe(int n, int c, int l) => l == 1 ? $"[{n}, {c}]" : $"[{n}, {c}, {l}]";
}
