using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// Collects one batch normalization's statistics per time step during a population-statistics pass: each
/// call normalizes with the batch's own statistics (as in training) and adds the batch's moments to that
/// step's, in double precision. Batch moments are combined exactly (Chan et al.'s pairwise update of count,
/// mean and sum of squared deviations), so no large mean cancels the variance.
/// </summary>
internal sealed class StepStatisticsEstimate
{
    private readonly int _channels;
    private readonly PopulationVariance _variance;
    // Per step: samples, and per channel the pooled mean and sum of squared deviations (M2), plus the sum of
    // batch means and variances and the batch count for the batch-average estimate.
    private readonly long[] _samples;
    private readonly int[] _batches;
    private readonly double[]?[] _mean, _m2, _meanSum, _varianceSum;
    private readonly Tensor _batchMean, _batchVar;

    /// <summary>An empty estimate for <paramref name="channels"/> channels and up to <paramref name="steps"/> time steps.</summary>
    public StepStatisticsEstimate(int channels, int steps, PopulationVariance variance)
    {
        _channels = channels;
        _variance = variance;
        _samples = new long[steps];
        _batches = new int[steps];
        _mean = new double[]?[steps];
        _m2 = new double[]?[steps];
        _meanSum = new double[]?[steps];
        _varianceSum = new double[]?[steps];
        _batchMean = Tensor.Zeros(channels);
        _batchVar = Tensor.Zeros(channels);
    }

    /// <summary>Normalizes <paramref name="x"/> [B, C] with its batch statistics and adds them to step <paramref name="step"/>.</summary>
    public Variable Normalize(Variable x, Variable? weight, Variable? bias, int step)
    {
        // Momentum 1 makes the "running" tensors exactly this batch's mean and unbiased variance.
        var y = F.BatchNorm(x, weight, bias, _batchMean, _batchVar, training: true, momentum: 1f);
        long n = x.Value.Dim(0), seen = _samples[step], total = seen + n;
        var mean = _mean[step] ??= new double[_channels];
        var m2 = _m2[step] ??= new double[_channels];
        var meanSum = _meanSum[step] ??= new double[_channels];
        var varianceSum = _varianceSum[step] ??= new double[_channels];
        var bm = _batchMean.Span;
        var bv = _batchVar.Span;
        for (int c = 0; c < _channels; c++)
        {
            double delta = bm[c] - mean[c];
            mean[c] += delta * n / total;
            m2[c] += bv[c] * (n - 1) + delta * delta * seen * n / total;
            meanSum[c] += bm[c];
            varianceSum[c] += bv[c];
        }
        _samples[step] = total;
        _batches[step]++;
        return y;
    }

    /// <summary>
    /// Writes each collected step's statistics into <paramref name="means"/> and <paramref name="variances"/> (steps
    /// the pass did not reach keep theirs) and returns one past the last step collected.
    /// </summary>
    public int Apply(Tensor[] means, Tensor[] variances)
    {
        int reached = 0;
        for (int s = 0; s < _batches.Length; s++)
        {
            if (_batches[s] == 0) continue;
            var m = means[s].Span;
            var v = variances[s].Span;
            bool pooled = _variance == PopulationVariance.Pooled;
            for (int c = 0; c < _channels; c++)
            {
                m[c] = (float)(pooled ? _mean[s]![c] : _meanSum[s]![c] / _batches[s]);
                v[c] = (float)(pooled ? _m2[s]![c] / (_samples[s] - 1) : _varianceSum[s]![c] / _batches[s]);
            }
            reached = s + 1;
        }
        return reached;
    }
}
