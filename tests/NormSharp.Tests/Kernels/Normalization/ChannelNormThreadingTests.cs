using NormSharp.Kernels.Normalization;
using NormSharp.Tensors;
using NormSharp.Threading;
using static NormSharp.Tests.Kernels.Normalization.ChannelNormTestHelpers;

namespace NormSharp.Tests.Kernels.Normalization;

/// <summary>Changing <see cref="ParallelFor.MaxThreads"/> is process-wide, so these tests run alone.</summary>
[CollectionDefinition(nameof(ChannelNormThreadingTests), DisableParallelization = true)]
public sealed class ChannelNormThreadingCollection;

[Collection(nameof(ChannelNormThreadingTests))]
[Trait("Category", "Kernels")]
public class ChannelNormThreadingTests
{
    private static float[][] RunBatchNorm(int n, int c, int l)
    {
        var rng = new Rng(77);
        var x = Normal(rng, n * c * l, 1, 2);
        var w = Normal(rng, c, 1, 0.5f);
        var b = Normal(rng, c);
        var dy = Normal(rng, n * c * l);
        var y = new float[x.Length];
        var sm = new float[c];
        var si = new float[c];
        var rm = new float[c];
        var rv = Enumerable.Repeat(1f, c).ToArray();
        BatchNormKernels.ForwardTraining(x, w, b, y, sm, si, rm, rv, n, c, l, 1e-5f, 0.1f);
        var dx = new float[x.Length];
        var dw = new float[c];
        var db = new float[c];
        BatchNormKernels.BackwardTraining(dy, x, w, sm, si, dx, dw, db, n, c, l);
        var yi = new float[x.Length];
        BatchNormKernels.ForwardInference(x, w, b, rm, rv, yi, n, c, l, 1e-5f);
        return [y, sm, si, rm, rv, dx, dw, db, yi];
    }

    private static float[][] RunGroupNorm(int n, int c, int s, int g)
    {
        var rng = new Rng(78);
        var x = Normal(rng, n * c * s, 1, 2);
        var w = Normal(rng, c, 1, 0.5f);
        var b = Normal(rng, c);
        var dy = Normal(rng, n * c * s);
        var y = new float[x.Length];
        var mean = new float[n * g];
        var rstd = new float[n * g];
        GroupNormKernels.Forward(x, w, b, y, mean, rstd, n, c, s, g, 1e-5f);
        var dx = new float[x.Length];
        var dw = new float[c];
        var db = new float[c];
        GroupNormKernels.Backward(dy, x, w, mean, rstd, dx, dw, db, n, c, s, g);
        return [y, mean, rstd, dx, dw, db];
    }

    [Fact]
    public void ResultsAreBitwiseIdenticalOnOneThreadAndOnMany()
    {
        // The thread count is process-wide and other tests (runs with --threads 1) change it: set it here.
        int keep = ParallelFor.MaxThreads;
        try
        {
            ParallelFor.MaxThreads = 4;
            // Sizes chosen so that four threads split every kernel into several chunks,
            // with chunk boundaries that fall inside the vector width of the [N, C] channel loops.
            var parallel = (RunBatchNorm(1024, 101, 1), RunBatchNorm(8, 9, 4099), RunGroupNorm(3, 64, 1001, 16));
            ParallelFor.MaxThreads = 1;
            var serial = (RunBatchNorm(1024, 101, 1), RunBatchNorm(8, 9, 4099), RunGroupNorm(3, 64, 1001, 16));
            Assert.Equal(serial.Item1, parallel.Item1);
            Assert.Equal(serial.Item2, parallel.Item2);
            Assert.Equal(serial.Item3, parallel.Item3);
        }
        finally
        {
            ParallelFor.MaxThreads = keep;
        }
    }
}
