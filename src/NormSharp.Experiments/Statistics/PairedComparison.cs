namespace NormSharp.Experiments.Statistics;

/// <summary>
/// Two arms measured on the same seeds (same seed: same initialization and data order), compared seed by
/// seed. The effect is the mean paired difference (or the geometric mean of the paired ratios, see
/// <see cref="EffectScale"/>) with a two-sided Student-t confidence interval on n − 1 degrees of freedom:
/// mean ± t_(1−α/2, n−1)·s/√n of the per-seed differences (of ln ratios). The t interval is exact for
/// normally distributed differences and is the honest choice for the handful of seeds a reproduction can
/// afford: a bootstrap resamples only n values (at most nⁿ distinct resamples) and its percentile interval
/// is too narrow for small n, so it is reported beside the t interval as a cross-check, not used to decide.
/// </summary>
public sealed record PairedComparison
{
    /// <summary>Resamples of the bootstrap cross-check.</summary>
    public const int BootstrapResamples = 10_000;

    /// <summary>Seed of the bootstrap cross-check: fixed, so a report's numbers never change between renderings.</summary>
    public const ulong BootstrapSeed = 20160721;

    /// <summary>The treatment arm's name (e.g. <c>LN, batch 4</c>).</summary>
    public required string Treatment { get; init; }

    /// <summary>The control arm's name.</summary>
    public required string Control { get; init; }

    /// <summary>Difference or ratio.</summary>
    public required EffectScale Scale { get; init; }

    /// <summary>The seeds, in the order of the value arrays.</summary>
    public required IReadOnlyList<ulong> Seeds { get; init; }

    /// <summary>The treatment arm's value per seed.</summary>
    public required IReadOnlyList<double> TreatmentValues { get; init; }

    /// <summary>The control arm's value per seed.</summary>
    public required IReadOnlyList<double> ControlValues { get; init; }

    /// <summary>Per seed: treatment − control, or treatment / control.</summary>
    public required IReadOnlyList<double> PerSeed { get; init; }

    /// <summary>Mean difference, or geometric-mean ratio; NaN when a seed's value is not usable.</summary>
    public required double Effect { get; init; }

    /// <summary>Lower end of the confidence interval (NaN without one: fewer than two seeds or a value not finite).</summary>
    public required double CiLow { get; init; }

    /// <summary>Upper end of the confidence interval.</summary>
    public required double CiHigh { get; init; }

    /// <summary>Standard error of the mean on the analysis scale (differences, or ln ratios).</summary>
    public required double StdError { get; init; }

    /// <summary>Degrees of freedom of the t interval (n − 1).</summary>
    public required int DegreesOfFreedom { get; init; }

    /// <summary>Confidence level (0.95).</summary>
    public required double Level { get; init; }

    /// <summary>Percentile-bootstrap interval of the same effect, as a cross-check.</summary>
    public required double BootstrapLow { get; init; }

    /// <summary>Upper end of the bootstrap interval.</summary>
    public required double BootstrapHigh { get; init; }

    /// <summary>Why there is no interval, or null when there is one.</summary>
    public string? Problem { get; init; }

    /// <summary>Whether the comparison has a finite confidence interval.</summary>
    public bool HasInterval => double.IsFinite(CiLow) && double.IsFinite(CiHigh);

    /// <summary>Compares <paramref name="treatment"/> with <paramref name="control"/>, both measured on <paramref name="seeds"/>.</summary>
    /// <exception cref="ArgumentException">The arrays differ in length or are empty, or the level is not in (0, 1).</exception>
    public static PairedComparison Of(EffectScale scale, string treatmentName, string controlName, IReadOnlyList<ulong> seeds,
        IReadOnlyList<double> treatment, IReadOnlyList<double> control, double level = 0.95)
    {
        if (seeds.Count == 0) throw new ArgumentException("a paired comparison needs at least one seed.", nameof(seeds));
        if (treatment.Count != seeds.Count || control.Count != seeds.Count)
            throw new ArgumentException($"a paired comparison needs one value per seed in each arm: {seeds.Count} seeds, {treatment.Count} treatment and {control.Count} control values.");
        if (!(level > 0 && level < 1)) throw new ArgumentException($"the confidence level must lie in (0, 1), got {level}.", nameof(level));
        int n = seeds.Count;
        var perSeed = new double[n];
        var analysed = new double[n];
        string? problem = null;
        for (int i = 0; i < n; i++)
        {
            double t = treatment[i], c = control[i];
            if (scale == EffectScale.Difference)
            {
                perSeed[i] = analysed[i] = t - c;
                if (!double.IsFinite(perSeed[i])) problem ??= $"seed {seeds[i]}: a value is not finite ({t} vs {c})";
            }
            else
            {
                perSeed[i] = t / c;
                analysed[i] = Math.Log(t / c);
                if (!(t > 0 && c > 0) || !double.IsFinite(analysed[i])) problem ??= $"seed {seeds[i]}: a ratio needs positive finite values ({t} vs {c})";
            }
        }
        if (problem is null && n < 2) problem = "one seed gives no interval";
        double mean = Stats.Mean(analysed);
        double se = n >= 2 ? Stats.Std(analysed) / Math.Sqrt(n) : double.NaN;
        double lo = double.NaN, hi = double.NaN, bLo = double.NaN, bHi = double.NaN;
        if (problem is null)
        {
            double q = StudentT.Quantile(0.5 + level / 2, n - 1);
            (lo, hi) = (mean - q * se, mean + q * se);
            (bLo, bHi) = Bootstrap.PercentileIntervalOfMean(analysed, level, BootstrapResamples, BootstrapSeed);
        }
        double Back(double v) => scale == EffectScale.Ratio ? Math.Exp(v) : v;
        return new PairedComparison
        {
            Treatment = treatmentName,
            Control = controlName,
            Scale = scale,
            Seeds = seeds.ToArray(),
            TreatmentValues = treatment.ToArray(),
            ControlValues = control.ToArray(),
            PerSeed = perSeed,
            Effect = double.IsFinite(mean) ? Back(mean) : double.NaN,
            CiLow = Back(lo),
            CiHigh = Back(hi),
            StdError = se,
            DegreesOfFreedom = n - 1,
            Level = level,
            BootstrapLow = Back(bLo),
            BootstrapHigh = Back(bHi),
            Problem = problem,
        };
    }
}
