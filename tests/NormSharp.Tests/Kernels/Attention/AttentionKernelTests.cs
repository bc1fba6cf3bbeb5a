using NormSharp.Kernels.Attention;
using NormSharp.Kernels.Simd;
using NormSharp.Tensors;

namespace NormSharp.Tests.Kernels.Attention;

/// <summary>The streaming attention kernels against the whole-matrix reference, over lengths, layouts and masks.</summary>
[Trait("Category", "Kernels")]
public class AttentionKernelTests
{
    private static float[] Random(Rng rng, long n, float scale = 1f)
    {
        var a = new float[n];
        rng.FillUniform(a, -scale, scale);
        return a;
    }

    /// <summary>Runs both kernels on random operands in the given layouts and compares every output with the reference.</summary>
    private static void Compare(AttentionShape s, bool causal, AttentionLayout ql, AttentionLayout kl, AttentionLayout ol,
        ulong seed, float magnitude = 1f, double tol = 2e-5, float dropout = 0f)
    {
        var rng = new Rng(seed);
        long qLen = Math.Max(1, ql.Extent(s.Batch, s.Heads, s.QueryTime, s.HeadDim));
        long kLen = Math.Max(1, kl.Extent(s.Batch, s.Heads, s.KeyTime, s.HeadDim));
        long oLen = Math.Max(1, ol.Extent(s.Batch, s.Heads, s.QueryTime, s.HeadDim));
        var q = Random(rng, qLen, magnitude);
        var k = Random(rng, kLen, magnitude);
        var v = Random(rng, kLen);
        var dOut = Random(rng, oLen);
        var options = new AttentionOptions(causal, AttentionOptions.DefaultScale(s.HeadDim), dropout, 99);
        var o = new float[oLen];
        var lse = new float[s.LogSumExpLength];
        AttentionKernels.Forward(s, options, q, ql, k, v, kl, o, ol, lse);
        var dq = new float[qLen];
        var dk = new float[kLen];
        var dv = new float[kLen];
        AttentionKernels.Backward(s, options, q, ql, k, v, kl, o, dOut, ol, lse, dq, dk, dv);
        Func<int, int, int, int, bool>? keep = dropout > 0
            ? (b, h, i, j) => AttentionRows.Keeps(99, (((long)b * s.Heads + h) * s.QueryTime + i) * s.KeyTime + j, dropout)
            : null;
        var r = NaiveAttention.Run(s, causal, options.Scale, q, ql, k, v, kl, dOut, ol, (int)oLen, keep, dropout > 0 ? 1.0 / (1 - dropout) : 1);
        string what = $"{s} causal={causal}";
        AssertClose(r.Output, o, tol, what + " output");
        AssertClose(r.Dq, dq, tol, what + " dq");
        AssertClose(r.Dk, dk, tol, what + " dk");
        AssertClose(r.Dv, dv, tol, what + " dv");
    }

    private static void AssertClose(double[] expected, float[] actual, double tol, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= tol * (1 + Math.Abs(expected[i])), $"{what}[{i}]: {actual[i]} against {expected[i]} (error {err:E2})");
        }
    }

    [Fact]
    public void CausalSelfAttentionMatchesTheReferenceAtEveryLengthUpTo256()
    {
        for (int t = 0; t <= 256; t++)
        {
            var s = AttentionShape.SelfAttention(1, 2, t, 4);
            var layout = AttentionLayout.Interleaved(1, t, 3 * 8, 4);
            var outLayout = AttentionLayout.Interleaved(1, t, 8, 4);
            Compare(s, causal: true, layout, layout, outLayout, (ulong)t + 1);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 7)]
    [InlineData(64, 64)]
    [InlineData(65, 63)]
    [InlineData(63, 130)]
    [InlineData(130, 65)]
    [InlineData(200, 200)]
    public void FullAndCausalAttentionWithDifferentQueryAndKeyLengthsMatchTheReference(int queries, int keys)
    {
        var s = new AttentionShape(2, 3, queries, keys, 5);
        var ql = AttentionLayout.HeadsFirst(3, queries, 5);
        var kl = AttentionLayout.HeadsFirst(3, keys, 5);
        Compare(s, causal: false, ql, kl, ql, 7);
        Compare(s, causal: true, ql, kl, ql, 8);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HeadsAreReadInPlaceFromPackedProjectionsInEitherSequenceLayout(bool batchFirst)
    {
        var s = AttentionShape.SelfAttention(3, 4, 70, 8);
        var inLayout = AttentionLayout.Interleaved(3, 70, 3 * 32, 8, batchFirst);
        var outLayout = AttentionLayout.Interleaved(3, 70, 32, 8, batchFirst);
        Compare(s, causal: true, inLayout, inLayout, outLayout, 3);
        Compare(s, causal: false, inLayout, inLayout, outLayout, 4);
    }

    [Fact]
    public void LargeScoresStayFiniteAndAccurate()
    {
        // Scores up to about ±400: a softmax without the running maximum would overflow exp.
        var s = AttentionShape.SelfAttention(1, 1, 150, 16);
        var layout = AttentionLayout.HeadsFirst(1, 150, 16);
        Compare(s, causal: true, layout, layout, layout, 11, magnitude: 10f, tol: 1e-4);
        Compare(s, causal: false, layout, layout, layout, 12, magnitude: 10f, tol: 1e-4);
    }

    [Fact]
    public void DroppedWeightsMatchTheReferenceWithTheSameMask()
    {
        var s = AttentionShape.SelfAttention(2, 2, 90, 4);
        var layout = AttentionLayout.HeadsFirst(2, 90, 4);
        Compare(s, causal: true, layout, layout, layout, 5, dropout: 0.3f);
        Compare(s, causal: false, layout, layout, layout, 6, dropout: 0.5f);
    }

    [Fact]
    public void TheDropoutMaskDropsTheRequestedFraction()
    {
        int dropped = 0;
        const int N = 200_000;
        for (int i = 0; i < N; i++) if (!AttentionRows.Keeps(1234, i, 0.2f)) dropped++;
        Assert.InRange(dropped / (double)N, 0.197, 0.203);
    }

    [Fact]
    public void TheResultDoesNotDependOnTheNumberOfThreads()
    {
        var rng = new Rng(3);
        var s = AttentionShape.SelfAttention(4, 2, 150, 8);
        var layout = AttentionLayout.HeadsFirst(2, 150, 8);
        long n = layout.Extent(4, 2, 150, 8);
        var q = Random(rng, n);
        var k = Random(rng, n);
        var v = Random(rng, n);
        var dOut = Random(rng, n);
        var options = new AttentionOptions(true, 0.3f);
        float[][] Run()
        {
            var o = new float[n];
            var lse = new float[s.LogSumExpLength];
            var dq = new float[n];
            var dk = new float[n];
            var dv = new float[n];
            AttentionKernels.Forward(s, options, q, layout, k, v, layout, o, layout, lse);
            AttentionKernels.Backward(s, options, q, layout, k, v, layout, o, dOut, layout, lse, dq, dk, dv);
            return [o, lse, dq, dk, dv];
        }
        var parallel = Run();
        int saved = NormSharp.Threading.ParallelFor.MaxThreads;
        float[][] single;
        try
        {
            NormSharp.Threading.ParallelFor.MaxThreads = 1;
            single = Run();
        }
        finally { NormSharp.Threading.ParallelFor.MaxThreads = saved; }
        for (int i = 0; i < parallel.Length; i++) Assert.Equal(parallel[i], single[i]);
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(32, true)]
    [InlineData(21, false)]
    [InlineData(64, false)]
    public void EveryVectorWidthGivesTheSameBits(int headDim, bool causal)
    {
        var rng = new Rng((ulong)headDim);
        var s = AttentionShape.SelfAttention(2, 2, 100, headDim);
        var layout = AttentionLayout.HeadsFirst(2, 100, headDim);
        long n = layout.Extent(2, 2, 100, headDim);
        var q = Random(rng, n);
        var k = Random(rng, n);
        var v = Random(rng, n);
        var dOut = Random(rng, n);
        var options = new AttentionOptions(causal, AttentionOptions.DefaultScale(headDim), 0.1f, 5);
        float[][] Run()
        {
            var o = new float[n];
            var lse = new float[s.LogSumExpLength];
            var dq = new float[n];
            var dk = new float[n];
            var dv = new float[n];
            AttentionKernels.Forward(s, options, q, layout, k, v, layout, o, layout, lse);
            AttentionKernels.Backward(s, options, q, layout, k, v, layout, o, dOut, layout, lse, dq, dk, dv);
            return [o, lse, dq, dk, dv];
        }
        float[][] reference;
        using (Widths.Force(VectorWidth.Scalar)) reference = Run();
        foreach (var width in new[] { VectorWidth.Bits128, VectorWidth.Bits256, VectorWidth.Bits512 })
        {
            if (!Widths.IsAvailable(width)) continue;
            float[][] other;
            using (Widths.Force(width)) other = Run();
            for (int i = 0; i < reference.Length; i++) Assert.True(reference[i].AsSpan().SequenceEqual(other[i]), $"{width}: output {i} differs from the scalar form");
        }
    }

    [Fact]
    public void LongContextsNeedNoScoreMatrix()
    {
        // One head of 4096 positions: its score matrix alone would be 64 MB.
        const int T = 4096, E = 16;
        var rng = new Rng(9);
        var s = AttentionShape.SelfAttention(1, 1, T, E);
        var layout = AttentionLayout.HeadsFirst(1, T, E);
        var q = Random(rng, T * E);
        var k = Random(rng, T * E);
        var v = Random(rng, T * E);
        var dOut = Random(rng, T * E);
        var o = new float[T * E];
        var lse = new float[T];
        var dq = new float[T * E];
        var dk = new float[T * E];
        var dv = new float[T * E];
        var options = new AttentionOptions(true, 0.25f);
        int saved = NormSharp.Threading.ParallelFor.MaxThreads;
        long allocated;
        try
        {
            // One thread, so that all working space is this thread's and counted here.
            NormSharp.Threading.ParallelFor.MaxThreads = 1;
            long before = GC.GetAllocatedBytesForCurrentThread();
            AttentionKernels.Forward(s, options, q, layout, k, v, layout, o, layout, lse);
            AttentionKernels.Backward(s, options, q, layout, k, v, layout, o, dOut, layout, lse, dq, dk, dv);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        finally { NormSharp.Threading.ParallelFor.MaxThreads = saved; }
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated for a context of {T}");
        Assert.All(o, x => Assert.True(float.IsFinite(x)));
        Assert.All(dq, x => Assert.True(float.IsFinite(x)));
    }

    [Fact]
    public void ShortBuffersAndBadOptionsAreRefusedWithTheirNames()
    {
        var s = AttentionShape.SelfAttention(1, 1, 4, 2);
        var layout = AttentionLayout.HeadsFirst(1, 4, 2);
        var ok = new float[8];
        var e = Assert.Throws<NormSharp.Errors.ShapeMismatchException>(() =>
            AttentionKernels.Forward(s, new AttentionOptions(false, 1f), ok, layout, new float[7], ok, layout, new float[8], layout, new float[4]));
        Assert.Contains("k holds 7", e.Message);
        Assert.Throws<NormSharp.Errors.InvalidValueException>(() =>
            AttentionKernels.Forward(s, new AttentionOptions(false, float.NaN), ok, layout, ok, ok, layout, new float[8], layout, new float[4]));
        Assert.Throws<NormSharp.Errors.InvalidValueException>(() =>
            AttentionKernels.Forward(s, new AttentionOptions(false, 1f, 1.5f), ok, layout, ok, ok, layout, new float[8], layout, new float[4]));
        Assert.Throws<NormSharp.Errors.ShapeMismatchException>(() =>
            AttentionKernels.Forward(new AttentionShape(1, 1, 4, 0, 2), new AttentionOptions(false, 1f), ok, layout, ok, ok, layout, new float[8], layout, new float[4]));
    }
}
