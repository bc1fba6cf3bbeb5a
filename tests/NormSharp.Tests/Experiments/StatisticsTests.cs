using CsCheck;
using NormSharp.Experiments;
using NormSharp.Experiments.Statistics;
using NormSharp.Tensors;

namespace NormSharp.Tests.Experiments;

/// <summary>The special functions against values computed to 30 digits (mpmath), and their identities.</summary>
public class SpecialFunctionTests
{
    [Theory]
    [InlineData(0.5, 0.57236494292470009)]
    [InlineData(1.0, 0.0)]
    [InlineData(3.7, 1.4280723266653881)]
    [InlineData(10.0, 12.80182748008147)]
    [InlineData(100.25, 360.28455963776423)]
    [InlineData(0.001, 6.9071788853838537)]
    public void LogGammaMatchesReferenceValues(double x, double expected) =>
        Assert.Equal(expected, LogGamma.Of(x), 1e-12 * Math.Max(1, Math.Abs(expected)));

    [Fact]
    public void LogGammaRejectsNonPositiveArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LogGamma.Of(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LogGamma.Of(-2.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LogGamma.Of(double.NaN));
    }

    [Theory]
    [InlineData(2, 3, 0.4, 0.5248)]
    [InlineData(0.5, 0.5, 0.2, 0.29516723530086656)]
    [InlineData(10, 0.5, 0.9, 0.15164090963470997)]
    [InlineData(1.5, 20, 0.05, 0.44342120168569028)]
    [InlineData(50, 60, 0.45, 0.46423529143060363)]
    public void IncompleteBetaMatchesReferenceValues(double a, double b, double x, double expected) =>
        Assert.Equal(expected, IncompleteBeta.Regularized(a, b, x), 1e-12);

    [Fact]
    public void IncompleteBetaIsADistributionFunctionWithItsReflection()
    {
        Gen.Select(Gen.Double[0.1, 40], Gen.Double[0.1, 40], Gen.Double[0, 1]).Sample((a, b, x) =>
        {
            // x and y = 1 − x both exactly representable, so the identity is tested and not the rounding of 1 − x.
            double y = 1 - x;
            x = 1 - y;
            double v = IncompleteBeta.Regularized(a, b, x);
            return v >= 0 && v <= 1
                && Math.Abs(v + IncompleteBeta.Regularized(b, a, y) - 1) < 1e-10
                && IncompleteBeta.Regularized(a, b, Math.Min(1, x + 0.01)) >= v - 1e-12;
        }, iter: 2000);
        Assert.Equal(0, IncompleteBeta.Regularized(2, 3, 0));
        Assert.Equal(1, IncompleteBeta.Regularized(2, 3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => IncompleteBeta.Regularized(2, 3, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => IncompleteBeta.Regularized(0, 3, 0.5));
    }
}

public class StudentTTests
{
    [Theory]
    [InlineData(1, 12.706204736174705)]
    [InlineData(2, 4.3026527297494639)]
    [InlineData(3, 3.1824463052837096)]
    [InlineData(4, 2.7764451051977944)]
    [InlineData(5, 2.5705818356363155)]
    [InlineData(9, 2.2621571627982055)]
    [InlineData(29, 2.0452296421327043)]
    [InlineData(100, 1.9839715185235523)]
    public void TwoSided95QuantilesMatchTheTables(double df, double expected) =>
        Assert.Equal(expected, StudentT.Quantile(0.975, df), 1e-10 * expected);

    [Theory]
    [InlineData(0.995, 4, 4.6040948713499932)]
    [InlineData(0.9, 7, 1.4149239276505085)]
    [InlineData(0.9999, 3, 22.203742273204183)]
    [InlineData(0.025, 4, -2.7764451051977944)]
    [InlineData(0.5, 6, 0.0)]
    public void OtherQuantilesMatchReferenceValues(double p, double df, double expected) =>
        Assert.Equal(expected, StudentT.Quantile(p, df), 1e-9 * Math.Max(1, Math.Abs(expected)));

    [Theory]
    [InlineData(2.0, 5, 0.94903026058507082)]
    [InlineData(-1.5, 3, 0.11529193262241153)]
    [InlineData(0.3, 2.5, 0.60632881425240139)]
    public void DistributionFunctionMatchesReferenceValues(double t, double df, double expected) =>
        Assert.Equal(expected, StudentT.Cdf(t, df), 1e-12);

    [Fact]
    public void QuantileInvertsTheDistributionFunctionAndIsSymmetric()
    {
        Gen.Select(Gen.Double[0.001, 0.999], Gen.Double[0.5, 200]).Sample((p, df) =>
        {
            double q = StudentT.Quantile(p, df);
            return Math.Abs(StudentT.Cdf(q, df) - p) < 1e-10 && Math.Abs(StudentT.Quantile(1 - p, df) + q) < 1e-8 * Math.Max(1, Math.Abs(q));
        }, iter: 1000);
    }

    [Fact]
    public void QuantileRejectsImpossibleArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Quantile(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Quantile(1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Quantile(0.9, 0));
    }
}

public class PairedComparisonTests
{
    private static readonly ulong[] Five = [1, 2, 3, 4, 5];

    [Fact]
    public void MeanDifferenceAndTIntervalByHand()
    {
        // Differences 1..5: mean 3, sd √2.5, se √0.5; t(0.975, 4) = 2.7764451051977944.
        var c = PairedComparison.Of(EffectScale.Difference, "a", "b", Five, [11, 12, 13, 14, 15], [10, 10, 10, 10, 10]);
        double half = 2.7764451051977944 * Math.Sqrt(0.5);
        Assert.Equal(3, c.Effect, 1e-12);
        Assert.Equal(3 - half, c.CiLow, 1e-10);
        Assert.Equal(3 + half, c.CiHigh, 1e-10);
        Assert.Equal(4, c.DegreesOfFreedom);
        Assert.Equal([1.0, 2, 3, 4, 5], c.PerSeed);
        Assert.True(c.HasInterval);
        Assert.InRange(c.BootstrapLow, c.CiLow, c.Effect);
        Assert.InRange(c.BootstrapHigh, c.Effect, c.CiHigh);
    }

    [Fact]
    public void RatiosAreGeometricMeansWithIntervalsOnTheLogScale()
    {
        double[] control = [100, 200, 50, 80];
        double[] logs = [-0.2, -0.1, -0.3, 0.0];
        var treatment = control.Zip(logs, (c, l) => c * Math.Exp(l)).ToArray();
        var r = PairedComparison.Of(EffectScale.Ratio, "LN", "none", [1, 2, 3, 4], treatment, control);
        double mean = logs.Average(), sd = Math.Sqrt(logs.Sum(l => (l - mean) * (l - mean)) / 3), q = StudentT.Quantile(0.975, 3);
        Assert.Equal(Math.Exp(mean), r.Effect, 1e-12);
        Assert.Equal(Math.Exp(mean - q * sd / 2), r.CiLow, 1e-10);
        Assert.Equal(Math.Exp(mean + q * sd / 2), r.CiHigh, 1e-10);
        Assert.Equal(Math.Exp(-0.1), r.PerSeed[1], 1e-12);
    }

    [Fact]
    public void WithoutAnIntervalItSaysWhy()
    {
        var one = PairedComparison.Of(EffectScale.Difference, "a", "b", [1], [2], [1]);
        Assert.False(one.HasInterval);
        Assert.Contains("one seed", one.Problem);
        Assert.Equal(1, one.Effect);
        var nan = PairedComparison.Of(EffectScale.Difference, "a", "b", [1, 2, 3], [1, double.NaN, 2], [0, 0, 0]);
        Assert.False(nan.HasInterval);
        Assert.Contains("seed 2", nan.Problem);
        var zero = PairedComparison.Of(EffectScale.Ratio, "a", "b", [1, 2], [1, 2], [0, 1]);
        Assert.False(zero.HasInterval);
        Assert.Contains("seed 1", zero.Problem);
        Assert.Throws<ArgumentException>(() => PairedComparison.Of(EffectScale.Difference, "a", "b", [1, 2], [1], [1, 2]));
        Assert.Throws<ArgumentException>(() => PairedComparison.Of(EffectScale.Difference, "a", "b", [], [], []));
    }

    [Fact]
    public void NinetyFivePercentIntervalsCoverTheTrueMeanNinetyFivePercentOfTheTime()
    {
        // Five seeds of normally distributed differences, 4000 repetitions: coverage within binomial noise of 95%.
        var rng = new Rng(11);
        int covered = 0, reps = 4000;
        for (int r = 0; r < reps; r++)
        {
            var a = Enumerable.Range(0, 5).Select(_ => 0.3 + 0.1 * rng.NextGaussian()).ToArray();
            var c = PairedComparison.Of(EffectScale.Difference, "a", "b", Five, a, [0, 0, 0, 0, 0]);
            if (c.CiLow <= 0.3 && 0.3 <= c.CiHigh) covered++;
        }
        Assert.InRange(covered / (double)reps, 0.94, 0.96);
    }

    [Fact]
    public void TheBootstrapIsSeededAndCollapsesOnConstantData()
    {
        double[] xs = [0.1, 0.5, 0.2, 0.9, 0.4, 0.3];
        Assert.Equal(Bootstrap.PercentileIntervalOfMean(xs, 0.95, 2000, 7), Bootstrap.PercentileIntervalOfMean(xs, 0.95, 2000, 7));
        Assert.Equal((2.5, 2.5), Bootstrap.PercentileIntervalOfMean([2.5, 2.5, 2.5], 0.95, 500, 1));
        // Many values: the percentile interval of the mean approaches mean ± 1.96·sd/√n.
        var many = Enumerable.Range(0, 400).Select(i => (double)(i % 20)).ToArray();
        double m = many.Average(), se = Math.Sqrt(many.Sum(x => (x - m) * (x - m)) / (many.Length - 1) / many.Length);
        var (lo, hi) = Bootstrap.PercentileIntervalOfMean(many, 0.95, 20_000, 3);
        Assert.Equal(m - 1.96 * se, lo, 0.05 * se * 1.96 * 2);
        Assert.Equal(m + 1.96 * se, hi, 0.05 * se * 1.96 * 2);
        Assert.Equal(1.5, Bootstrap.Percentile([1.0, 2.0], 0.5));
    }
}

public class ThresholdTests
{
    [Fact]
    public void AtLeastIsSupportedOnlyWhenTheWholeIntervalClearsIt()
    {
        var t = Threshold.AtLeast(0.02);
        Assert.Equal(Verdict.Supported, t.Decide(0.021, 0.05));
        Assert.Equal(Verdict.Supported, t.Decide(0.02, 0.05));
        Assert.Equal(Verdict.Inconclusive, t.Decide(0.019, 0.05));
        Assert.Equal(Verdict.NotSupported, t.Decide(-0.01, 0.019));
        Assert.Equal(0.001, t.Margin(0.021, 0.05), 1e-12);
        Assert.Equal(-0.03, t.Margin(-0.01, 0.019), 1e-12);
        Assert.Equal("≥ 0.02", t.ToString());
    }

    [Fact]
    public void AtMostAndWithinMirrorIt()
    {
        var r = Threshold.AtMost(0.9, "×");
        Assert.Equal(Verdict.Supported, r.Decide(0.7, 0.85));
        Assert.Equal(Verdict.Inconclusive, r.Decide(0.8, 0.95));
        Assert.Equal(Verdict.NotSupported, r.Decide(0.91, 1.2));
        Assert.Equal(0.05, r.Margin(0.7, 0.85), 1e-12);
        Assert.Equal("≤ 0.9×", r.ToString());
        var w = Threshold.Within(0.02);
        Assert.Equal(Verdict.Supported, w.Decide(-0.01, 0.015));
        Assert.Equal(Verdict.Inconclusive, w.Decide(-0.01, 0.03));
        Assert.Equal(Verdict.NotSupported, w.Decide(0.021, 0.04));
        Assert.Equal(Verdict.NotSupported, w.Decide(-0.05, -0.03));
        Assert.Equal(0.005, w.Margin(-0.01, 0.015), 1e-12);
        Assert.Throws<ArgumentOutOfRangeException>(() => Threshold.Within(0));
    }

    [Fact]
    public void NoIntervalIsInconclusive()
    {
        Assert.Equal(Verdict.Inconclusive, Threshold.AtLeast(0).Decide(double.NaN, double.NaN));
        Assert.True(double.IsNaN(Threshold.AtLeast(0).Margin(double.NaN, 1)));
    }
}
