using System.Globalization;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments;

/// <summary>What every claim needs: the profile, the dataset, the seeds and the runner.</summary>
public sealed record SuiteContext(ExperimentProfile Profile, string Dataset, int Seeds, ExperimentRunner Runner, string? DataDir = null)
{
    /// <summary>The seeds 1..Seeds.</summary>
    public IEnumerable<ulong> SeedList => Enumerable.Range(1, Seeds).Select(s => (ulong)s);

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
        Threads = NormSharp.Threading.ParallelFor.MaxThreads,
    };

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
