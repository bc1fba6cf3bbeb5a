using System.Globalization;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments;

/// <summary>
/// What every claim needs: the profile, the dataset, the runner, and <paramref name="Seeds"/>: a seed count
/// for every claim, or null for the profile's own per-claim counts.
/// </summary>
public sealed record SuiteContext(ExperimentProfile Profile, string Dataset, int? Seeds, ExperimentRunner Runner, string? DataDir = null)
{
    /// <summary>Threads every run of the suite uses: read once, when the suite starts (a run sets the process-wide count to its own).</summary>
    public int Threads { get; init; } = NormSharp.Threading.ParallelFor.MaxThreads;

    /// <summary>How many seeds claim <paramref name="claim"/> runs.</summary>
    public int SeedCount(string claim) => Seeds ?? Profile.SeedsFor(claim);

    /// <summary>The seeds 1..n of claim <paramref name="claim"/>.</summary>
    public IReadOnlyList<ulong> SeedList(string claim) => Enumerable.Range(1, SeedCount(claim)).Select(s => (ulong)s).ToArray();

    /// <summary>The paper's permutation-invariant MLP at this profile's size, with the normalization spelled <paramref name="norm"/> (none, layer, batch, rms).</summary>
    public TrainingConfig Mlp(string norm, int batchSize, ulong seed) => new()
    {
        Dataset = Dataset,
        DataDir = DataDir,
        Model = ModelKind.Mlp,
        Hidden = Profile.Hidden,
        Norm = Spelling.Parse<NormSharp.Layers.NormKind>(norm, "norm"),
        BatchSize = batchSize,
        Epochs = Profile.Epochs,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 1e-3,
        Seed = seed,
        TrainLimit = Profile.TrainImages,
        Threads = Threads,
    };

    /// <summary>Seeds for a setup text: "1–5", or a list when they are not consecutive.</summary>
    public static string SeedRange(IReadOnlyList<ulong> seeds) =>
        seeds.Count > 2 && seeds.Zip(seeds.Skip(1)).All(p => p.Second == p.First + 1) ? $"{seeds[0]}–{seeds[^1]}" : string.Join(", ", seeds);

    /// <summary>A number for a table.</summary>
    public static string Num(double v, string format = "G4") =>
        double.IsPositiveInfinity(v) ? "never" : double.IsNaN(v) ? "n/a" : v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>"mean ± std" for a table.</summary>
    public static string MeanStd(IEnumerable<double> xs, string format = "F4")
    {
        var a = xs.ToArray();
        return $"{Num(Stats.Mean(a), format)} ± {Num(Stats.Std(a), format)}";
    }
}
