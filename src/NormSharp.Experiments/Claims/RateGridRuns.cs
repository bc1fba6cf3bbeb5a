using System.Globalization;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments.Claims;

/// <summary>
/// The runs that claims B and E share: none, BN and LN at batch 128 with Adam, each at every learning rate of the
/// profile's grid (matched rates), over the reported seeds; and the same grid on a separate tuning seed, never
/// reported, on which each arm's best rate is chosen (the lowest training loss averaged over the run: the rate that
/// trains it fastest). Held-out checks through each epoch feed E's convergence detector.
/// </summary>
internal sealed class RateGridRuns
{
    /// <summary>The arms.</summary>
    public static readonly string[] Norms = ["none", "batch", "layer"];

    private RateGridRuns(IReadOnlyList<double> rates, Dictionary<(string, double), List<RunResult>> runs, Dictionary<string, double> best, Dictionary<(string, double), RunResult> tuning)
    {
        Rates = rates;
        Runs = runs;
        Best = best;
        Tuning = tuning;
    }

    /// <summary>The grid.</summary>
    public IReadOnlyList<double> Rates { get; }

    /// <summary>The reported runs by (normalization, rate), in seed order.</summary>
    public IReadOnlyDictionary<(string Norm, double Rate), List<RunResult>> Runs { get; }

    /// <summary>Each arm's best rate, chosen on the tuning seed.</summary>
    public IReadOnlyDictionary<string, double> Best { get; }

    /// <summary>The tuning seed's runs by (normalization, rate).</summary>
    public IReadOnlyDictionary<(string Norm, double Rate), RunResult> Tuning { get; }

    /// <summary>The runs of <paramref name="norm"/> at its best rate.</summary>
    public List<RunResult> AtBest(string norm) => Runs[(norm, Best[norm])];

    /// <summary>Trains (or reads back) the grid over <paramref name="seeds"/> and the tuning seed.</summary>
    public static RateGridRuns Run(SuiteContext ctx, IReadOnlyList<ulong> seeds)
    {
        var p = ctx.Profile;
        if (seeds.Contains(p.TuningSeed)) throw new ArgumentException($"the tuning seed {p.TuningSeed} must not be one of the reported seeds.", nameof(seeds));
        int images = ctx.TrainCount(p.ConvergenceImages);
        TrainingConfig Config(string norm, double lr, ulong seed) => ctx.Mlp(norm, 128, seed) with
        {
            LearningRate = lr,
            TrainLimit = images,
            Epochs = p.ConvergenceEpochs,
            EvalEvery = SuiteContext.EvaluateEvery(images, 128, p.ConvergenceEvaluationsPerEpoch),
            EvalLimit = p.EvalLimit,
        };
        var tuning = new Dictionary<(string, double), RunResult>();
        var runs = new Dictionary<(string, double), List<RunResult>>();
        var best = new Dictionary<string, double>();
        foreach (var norm in Norms)
        {
            foreach (double lr in p.ConvergenceRates)
                tuning[(norm, lr)] = ctx.Runner.Run($"BE-{norm}-lr{Rate(lr)}-tune", Config(norm, lr, p.TuningSeed));
            best[norm] = p.ConvergenceRates.Where(lr => !tuning[(norm, lr)].Summary.Diverged && tuning[(norm, lr)].Failure is null)
                .OrderBy(lr => PaperMlpRuns.MeanTrainingLoss(tuning[(norm, lr)])).DefaultIfEmpty(p.ConvergenceRates[0]).First();
            foreach (double lr in p.ConvergenceRates)
                runs[(norm, lr)] = seeds.Select(s => ctx.Runner.Run($"BE-{norm}-lr{Rate(lr)}-s{s}", Config(norm, lr, s))).ToList();
        }
        return new RateGridRuns(p.ConvergenceRates, runs, best, tuning);
    }

    /// <summary>A learning rate in a run id.</summary>
    public static string Rate(double lr) => lr.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>The setup text shared by B and E.</summary>
    public string Setup(SuiteContext ctx, IReadOnlyList<ulong> seeds) =>
        $"MLP 784-{string.Join("-", ctx.Profile.Hidden)}-10 on {ctx.DataText(ctx.Profile.ConvergenceImages)}, none vs BN vs LN, batch 128, Adam, {ctx.Profile.ConvergenceEpochs} epochs. " +
        $"Matched rates: every arm at each of {string.Join(", ", Rates.Select(Rate))}, seeds {SuiteContext.SeedRange(seeds)} (each seed: the same initial dense weights and data order in every arm). " +
        $"Best rates: each arm's rate with the lowest training loss averaged over the run on a separate tuning seed ({ctx.Profile.TuningSeed}), whose runs are not reported: " +
        $"{string.Join(", ", Norms.Select(n => $"{PaperMlpRuns.Label(n)} {Rate(Best[n])}"))}. Held-out loss checked {ctx.Profile.ConvergenceEvaluationsPerEpoch} times per epoch on the first {ctx.Profile.EvalLimit:N0} test images.";

    /// <summary>
    /// The comparisons a B or E finding is made at: each arm at its best rate, then every matched rate. A matched-rate
    /// comparison in which a run diverged is reported, not judged (fixed before the runs): a diverged run has no steps
    /// to the target and no fluctuation to compare.
    /// </summary>
    public IEnumerable<(string Label, List<RunResult> Ln, List<RunResult> None, List<RunResult> Bn, bool Judged)> Comparisons()
    {
        yield return ($"each at its best rate (LN {Rate(Best["layer"])}, none {Rate(Best["none"])})", AtBest("layer"), AtBest("none"), AtBest("batch"), true);
        foreach (double lr in Rates)
        {
            var ln = Runs[("layer", lr)];
            var none = Runs[("none", lr)];
            yield return ($"both at lr {Rate(lr)}", ln, none, Runs[("batch", lr)], !ln.Concat(none).Any(r => r.Summary.Diverged));
        }
    }
}
