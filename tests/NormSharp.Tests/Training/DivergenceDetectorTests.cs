using System.Globalization;
using NormSharp.Training;

namespace NormSharp.Tests.Training;

/// <summary>
/// The divergence detector, right both ways on loss curves recorded from real runs on mnist-digits: it flags an
/// early explosion at once and lets a healthy run whose loss rose tenfold from near zero go on.
/// </summary>
public class DivergenceDetectorTests
{
    private static readonly double ChanceOfTenClasses = Math.Log(10);

    /// <summary>The per-step losses of a recorded run (tests/data/training).</summary>
    internal static double[] RecordedLosses(string file) =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "training", file))
            .Where(l => l.Length > 0 && char.IsDigit(l[0]))
            .Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture))
            .ToArray();

    /// <summary>The step (1-based) at which <paramref name="detector"/> first calls the curve diverged, or 0.</summary>
    private static int FirstFlag(DivergenceDetector detector, double[] losses)
    {
        for (int i = 0; i < losses.Length; i++)
            if (detector.Observe(losses[i]) is not null) return i + 1;
        return 0;
    }

    [Fact]
    public void FlagsTheEarlyExplosionAtTheStepItHappens()
    {
        // train --hidden 64 --epochs 2 --batch-size 64 --lr 1e3: 2.36, then 3.7e7 at step 2, ending at 671 (9.55% accuracy).
        var losses = RecordedLosses("explosion-hidden64-lr1e3.csv");
        Assert.Equal(250, losses.Length);
        Assert.True(losses[1] > 1e7 && losses[^1] > 100, "the recorded curve is the explosion");
        var detector = new DivergenceDetector(window: 32) { ChanceLoss = ChanceOfTenClasses };
        Assert.Equal(2, FirstFlag(detector, losses));
    }

    [Fact]
    public void LetsTheHealthyRunWhoseLossRoseTenfoldFromNearZeroGoOn()
    {
        // train --dataset mnist-digits --model mlp --hidden 1000,1000 --norm layer --batch-size 32 --epochs 20
        //       --optimizer adam --lr 0.001 --seed 5 (stopped at epoch 15 as "diverged" by the old relative rule).
        var losses = RecordedLosses("healthy-adam-1000x1000-seed5.csv");
        Assert.Equal(20 * 250, losses.Length);
        // The pattern that fooled the old rule is in the curve: a smoothed loss that rose over tenfold from its best.
        var window = new DivergenceDetector(window: 64);
        double best = double.PositiveInfinity, worstRise = 0;
        foreach (double l in losses)
        {
            window.Observe(l);
            if (window.Count < 64) continue;
            best = Math.Min(best, window.SmoothedLoss);
            worstRise = Math.Max(worstRise, window.SmoothedLoss / best);
        }
        Assert.True(best < 0.01 && worstRise > 10, $"best smoothed {best}, largest rise {worstRise}×");

        var detector = new DivergenceDetector(window: 64) { ChanceLoss = ChanceOfTenClasses };
        Assert.Equal(0, FirstFlag(detector, losses));
    }

    [Fact]
    public void ANonFiniteLossIsDivergenceAtOnce()
    {
        var detector = new DivergenceDetector(window: 5);
        Assert.Null(detector.Observe(2.3));
        Assert.Contains("NaN", detector.Observe(double.NaN));
        Assert.Contains("Infinity", new DivergenceDetector().Observe(double.PositiveInfinity));
    }

    [Fact]
    public void WithoutAChanceLossTheFirstLossSetsTheScale()
    {
        var detector = new DivergenceDetector(window: 4, factor: 10);
        Assert.Null(detector.Observe(0.5));
        Assert.Equal(0.5, detector.Scale);
        Assert.Null(detector.Observe(0.01));
        Assert.Null(detector.Observe(0.05)); // fivefold up from its best: no explosion at this scale
        string? why = null;
        for (int i = 0; i < 4 && why is null; i++) why = detector.Observe(30);
        Assert.NotNull(why);
        Assert.Contains("exploded", why);
        Assert.Contains("first loss 0.5", why);
    }

    [Fact]
    public void TheChanceLossKeepsATinyFirstLossFromMakingTheScaleTiny()
    {
        var detector = new DivergenceDetector(window: 3) { ChanceLoss = 2.3 };
        Assert.Null(detector.Observe(1e-4));
        for (int i = 0; i < 10; i++) Assert.Null(detector.Observe(1.0));
        Assert.Equal(2.3, detector.Scale);
    }

    [Fact]
    public void ADetectorResumedFromItsStateDecidesAsTheUninterruptedOne()
    {
        var losses = RecordedLosses("explosion-hidden64-lr1e3.csv");
        var straight = new DivergenceDetector(window: 3) { ChanceLoss = ChanceOfTenClasses };
        straight.Observe(losses[0]);
        var resumed = new DivergenceDetector(window: 3) { ChanceLoss = ChanceOfTenClasses };
        resumed.LoadState(straight.SaveState());
        Assert.Equal(straight.Observe(losses[1]), resumed.Observe(losses[1]));
        Assert.Equal(straight.BestSmoothedLoss, resumed.BestSmoothedLoss);
        Assert.Equal(straight.SmoothedLoss, resumed.SmoothedLoss);
    }

    [Fact]
    public void BadSettingsAreRefused()
    {
        Assert.Throws<NormSharp.Errors.InvalidValueException>(() => new DivergenceDetector(window: 0));
        Assert.Throws<NormSharp.Errors.InvalidValueException>(() => new DivergenceDetector(factor: 1));
        Assert.Throws<NormSharp.Errors.InvalidValueException>(() => new DivergenceDetector { ChanceLoss = -1 });
    }
}
