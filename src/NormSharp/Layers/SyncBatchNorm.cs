using NormSharp.Autograd;
using NormSharp.Distributed;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Layers;

/// <summary>
/// Batch normalization over [N, C] or [N, C, L] inputs whose training statistics span the batches of every
/// rank of a data-parallel run (PyTorch's <c>nn.SyncBatchNorm</c>): the forward pass sums the per-channel
/// sums over ranks (two small all-reduces: the mean, then the squared deviations from it, so the variance
/// does not cancel at large means), and the backward pass sums the two per-channel gradient terms. Every
/// rank therefore normalizes with the statistics of the global batch and keeps the same running statistics.
/// Without a <see cref="Communicator"/> (one process) it is plain batch normalization. State-dict names are
/// those of <see cref="BatchNorm1d"/>.
/// </summary>
public sealed class SyncBatchNorm : Module
{
    /// <summary>Creates the layer with gain 1, bias 0, running mean 0 and running variance 1.</summary>
    public SyncBatchNorm(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true)
    {
        if (numFeatures <= 0) throw new InvalidValueException(nameof(numFeatures), $"SyncBatchNorm: num_features must be positive, got {numFeatures}.");
        Kernels.Normalization.NormalizationArguments.CheckEps("SyncBatchNorm", eps);
        if (!(momentum >= 0f && momentum <= 1f)) throw new InvalidValueException(nameof(momentum), $"SyncBatchNorm: momentum must be in [0, 1], got {momentum}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = RegisterParameter("weight", Variable.Parameter(Tensor.Full(1f, numFeatures), "weight"));
            Bias = RegisterParameter("bias", Variable.Parameter(Tensor.Zeros(numFeatures), "bias"));
        }
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
        RunningVar = RegisterBuffer("running_var", Tensor.Full(1f, numFeatures));
    }

    /// <summary>Channels.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Weight of the new batch statistic in the running average.</summary>
    public float Momentum { get; }

    /// <summary>The gain, or null without affine.</summary>
    public Variable? Weight { get; }

    /// <summary>The bias, or null without affine.</summary>
    public Variable? Bias { get; }

    /// <summary>The running mean (global over ranks).</summary>
    public Tensor RunningMean { get; }

    /// <summary>The running unbiased variance (global over ranks).</summary>
    public Tensor RunningVar { get; }

    /// <summary>
    /// The ranks whose batches the statistics span; null for one process. A data-parallel trainer sets its own
    /// communicator on every <see cref="SyncBatchNorm"/> that has none when a fit starts.
    /// </summary>
    public ICommunicator? Communicator { get; set; }

    /// <inheritdoc />
    public override Variable Forward(Variable input)
    {
        if (!IsTraining) return F.BatchNorm(input, Weight, Bias, RunningMean, RunningVar, training: false, Momentum, Eps);
        var function = new Statistics(this);
        return Weight is null ? function.Apply(input) : function.Apply(input, Weight, Bias!);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"{NumFeatures}, eps={Repr.Float(Eps)}, momentum={Repr.Float(Momentum)}, affine={Repr.Bool(Weight is not null)}, synchronized={Repr.Bool(Communicator is { Size: > 1 })}";

    /// <summary>The training-mode operation: statistics over every rank's batch, forward and backward.</summary>
    private sealed class Statistics(SyncBatchNorm layer) : CustomFunction
    {
        private double[] _mean = [], _rstd = [];
        private double _count;

        public override string Name => "SyncBatchNorm";

        protected override Tensor Forward(FunctionContext ctx, IReadOnlyList<Tensor> inputs)
        {
            var x = inputs[0];
            if (x.Rank is not (2 or 3) || x.Dim(1) != layer.NumFeatures)
                throw new ShapeMismatchException($"SyncBatchNorm({layer.NumFeatures}): input must be [N, {layer.NumFeatures}] or [N, {layer.NumFeatures}, L], got {ShapeMismatchException.Format(x.Shape)}.");
            int n = x.Dim(0), c = x.Dim(1), l = x.Rank == 3 ? x.Dim(2) : 1;
            var comm = layer.Communicator;
            var xs = x.Span;
            // Sums over this rank's samples, then over ranks: first the count and the sums (the mean) ...
            var sums = new double[c + 1];
            for (int ch = 0; ch < c; ch++) sums[ch] = SumChannel(xs, n, c, l, ch, 0, square: false);
            sums[c] = (double)n * l;
            comm?.AllReduceSum(sums);
            _count = sums[c];
            if (_count <= 1) throw new InvalidValueException("input", $"SyncBatchNorm: expected more than 1 value per channel when training, got {_count} over all ranks.");
            _mean = new double[c];
            for (int ch = 0; ch < c; ch++) _mean[ch] = sums[ch] / _count;
            // ... then the squared deviations from the global mean.
            var squares = new double[c];
            for (int ch = 0; ch < c; ch++) squares[ch] = SumChannel(xs, n, c, l, ch, _mean[ch], square: true);
            comm?.AllReduceSum(squares);
            _rstd = new double[c];
            var unbiased = new double[c];
            for (int ch = 0; ch < c; ch++)
            {
                double variance = squares[ch] / _count;
                _rstd[ch] = 1 / Math.Sqrt(variance + layer.Eps);
                unbiased[ch] = squares[ch] / (_count - 1);
            }
            RunningStatistics.Update(layer.RunningMean.Span, layer.RunningVar.Span, _mean, unbiased, layer.Momentum);

            var y = Tensor.Zeros(x.Shape);
            var ys = y.Span;
            ReadOnlySpan<float> w = inputs.Count > 1 ? inputs[1].Span : default, b = inputs.Count > 2 ? inputs[2].Span : default;
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < c; ch++)
                {
                    double scale = _rstd[ch] * (w.IsEmpty ? 1 : w[ch]), shift = b.IsEmpty ? 0 : b[ch];
                    int at = (i * c + ch) * l;
                    for (int j = 0; j < l; j++) ys[at + j] = (float)((xs[at + j] - _mean[ch]) * scale + shift);
                }
            ctx.SaveForBackward([.. inputs]);
            return y;
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput)
        {
            var x = ctx.SavedTensors[0];
            bool affine = ctx.SavedTensors.Count > 1;
            int n = x.Dim(0), c = x.Dim(1), l = x.Rank == 3 ? x.Dim(2) : 1;
            var xs = x.Span;
            var dy = gradOutput.Span;
            ReadOnlySpan<float> w = affine ? ctx.SavedTensors[1].Span : default;
            // Local parameter gradients (the data-parallel reduction sums them over ranks) ...
            var dw = new double[c];
            var db = new double[c];
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < c; ch++)
                {
                    int at = (i * c + ch) * l;
                    for (int j = 0; j < l; j++)
                    {
                        double xhat = (xs[at + j] - _mean[ch]) * _rstd[ch];
                        dw[ch] += dy[at + j] * xhat;
                        db[ch] += dy[at + j];
                    }
                }
            // ... and the two per-channel terms of dx, summed over every rank's samples.
            var terms = new double[2 * c];
            for (int ch = 0; ch < c; ch++)
            {
                double g = affine ? w[ch] : 1;
                terms[ch] = db[ch] * g;
                terms[c + ch] = dw[ch] * g;
            }
            layer.Communicator?.AllReduceSum(terms);
            Tensor? dx = null;
            if (ctx.NeedsInputGrad(0))
            {
                dx = Tensor.Zeros(x.Shape);
                var dxs = dx.Span;
                for (int i = 0; i < n; i++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double g = affine ? w[ch] : 1, meanG = terms[ch] / _count, meanGx = terms[c + ch] / _count;
                        int at = (i * c + ch) * l;
                        for (int j = 0; j < l; j++)
                        {
                            double xhat = (xs[at + j] - _mean[ch]) * _rstd[ch];
                            dxs[at + j] = (float)(_rstd[ch] * (g * dy[at + j] - meanG - xhat * meanGx));
                        }
                    }
            }
            if (!affine) return [dx];
            var dwt = Tensor.Zeros(c);
            var dbt = Tensor.Zeros(c);
            for (int ch = 0; ch < c; ch++)
            {
                dwt[ch] = (float)dw[ch];
                dbt[ch] = (float)db[ch];
            }
            return [dx, ctx.NeedsInputGrad(1) ? dwt : null, ctx.NeedsInputGrad(2) ? dbt : null];
        }

        private static double SumChannel(ReadOnlySpan<float> xs, int n, int c, int l, int ch, double mean, bool square)
        {
            double s = 0;
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * l;
                for (int j = 0; j < l; j++)
                {
                    double v = xs[at + j] - mean;
                    s += square ? v * v : v;
                }
            }
            return s;
        }
    }
}
