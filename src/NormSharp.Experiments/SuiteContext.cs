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

    /// <summary>How many training images a run limited to <paramref name="limit"/> (0: all) gets from this suite's dataset.</summary>
    public int TrainCount(int limit)
    {
        int available = Runner.Data(Dataset, DataDir).Train.Count;
        return limit > 0 ? Math.Min(limit, available) : available;
    }

    /// <summary>The dataset in words for a setup text: its name and the training and held-out images a run limited to <paramref name="limit"/> uses.</summary>
    public string DataText(int limit)
    {
        var data = Runner.Data(Dataset, DataDir);
        int used = TrainCount(limit);
        return used == data.Train.Count
            ? $"{Dataset} (all {data.Train.Count:N0} training images, {data.Test.Count:N0} test images)"
            : $"{Dataset} (the first {used:N0} of {data.Train.Count:N0} training images, all {data.Test.Count:N0} test images)";
    }

    /// <summary>Steps between held-out checks for <paramref name="perEpoch"/> checks per epoch of <paramref name="images"/> images at <paramref name="batchSize"/>.</summary>
    public static long EvaluateEvery(int images, int batchSize, int perEpoch) => Math.Max(1, images / batchSize / Math.Max(1, perEpoch));

    /// <summary>The paper's permutation-invariant MLP at this profile's size, with the normalization spelled <paramref name="norm"/> (none, layer, batch, rms, weight).</summary>
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
