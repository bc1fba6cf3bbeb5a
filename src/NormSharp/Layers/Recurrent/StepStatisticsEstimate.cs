using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Layers.Recurrent;

/// <summary>
/// Collects one batch normalization's statistics per time step during a population-statistics pass: each
/// call normalizes with the batch's own statistics (as in training) and adds the batch mean and unbiased
/// batch variance to that step's sums, in double precision.
/// </summary>
internal sealed class StepStatisticsEstimate
{
    private readonly int _channels;
    private readonly double[]?[] _meanSum, _varSum;
    private readonly int[] _batches;
    private readonly Tensor _batchMean, _batchVar;

    /// <summary>An empty estimate for <paramref name="channels"/> channels and up to <paramref name="steps"/> time steps.</summary>
    public StepStatisticsEstimate(int channels, int steps)
    {
        _channels = channels;
        _meanSum = new double[]?[steps];
        _varSum = new double[]?[steps];
        _batches = new int[steps];
        _batchMean = Tensor.Zeros(channels);
        _batchVar = Tensor.Zeros(channels);
    }

    /// <summary>Normalizes <paramref name="x"/> [B, C] with its batch statistics and adds them to step <paramref name="step"/>.</summary>
    public Variable Normalize(Variable x, Variable? weight, Variable? bias, int step)
    {
        // Momentum 1 makes the "running" tensors exactly this batch's mean and unbiased variance.
        var y = F.BatchNorm(x, weight, bias, _batchMean, _batchVar, training: true, momentum: 1f);
        var m = _meanSum[step] ??= new double[_channels];
        var v = _varSum[step] ??= new double[_channels];
        var bm = _batchMean.Span;
        var bv = _batchVar.Span;
        for (int c = 0; c < _channels; c++)
        {
            m[c] += bm[c];
            v[c] += bv[c];
        }
        _batches[step]++;
        return y;
    }

    /// <summary>
    /// Writes each collected step's average into <paramref name="means"/> and <paramref name="variances"/> (steps
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
            for (int c = 0; c < _channels; c++)
            {
                m[c] = (float)(_meanSum[s]![c] / _batches[s]);
                v[c] = (float)(_varSum[s]![c] / _batches[s]);
            }
            reached = s + 1;
        }
        return reached;
    }
}
