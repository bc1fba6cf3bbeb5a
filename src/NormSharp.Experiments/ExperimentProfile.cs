namespace NormSharp.Experiments;

/// <summary>
/// The sizes an experiment suite runs at. <see cref="Quick"/> fits the whole suite into about ten minutes
/// on two cores by shrinking the networks, the data and the training; <see cref="Full"/> uses the paper's
/// 784-1000-1000-10 network and the whole training set. The report states which one produced it.
/// </summary>
public sealed record ExperimentProfile
{
    /// <summary>quick or full.</summary>
    public required string Name { get; init; }

    /// <summary>Training images used (0: all).</summary>
    public required int TrainImages { get; init; }

    /// <summary>Hidden widths of the permutation-invariant MLP.</summary>
    public required int[] Hidden { get; init; }

    /// <summary>Epochs of the MLP runs.</summary>
    public required int Epochs { get; init; }

    /// <summary>Learning rates of the sweep (claim C).</summary>
    public required double[] SweepRates { get; init; }

    /// <summary>Steps per sweep run.</summary>
    public required int SweepImages { get; init; }

    /// <summary>Depth of the deep MLP (claim D).</summary>
    public required int DeepLayers { get; init; }

    /// <summary>Width of the deep MLP.</summary>
    public required int DeepWidth { get; init; }

    /// <summary>Training images and epochs of the recurrent runs (claim F).</summary>
    public required int RecurrentImages { get; init; }

    /// <summary>Epochs of the recurrent runs.</summary>
    public required int RecurrentEpochs { get; init; }

    /// <summary>Hidden size of the recurrent runs.</summary>
    public required int RecurrentHidden { get; init; }

    /// <summary>Length of the adding problem in training (evaluated also at twice that).</summary>
    public required int AddingLength { get; init; }

    /// <summary>
    /// Seeds per claim (A to F; G is deterministic and takes none), unless the suite overrides them. Each arm
    /// of a claim runs on the same seeds, and the verdicts compare arms seed by seed.
    /// </summary>
    public required IReadOnlyDictionary<string, int> Seeds { get; init; }

    /// <summary>The sizes of the language-modelling claims H–J.</summary>
    public LanguageModelProfile LanguageModel { get; init; } = QuickLanguageModel;

    /// <summary>
    /// Quick language-modelling sizes: a 4-block, 64-wide Transformer and a 128-unit LSTM, 600 steps of 16 windows of
    /// 64 characters. Not run by default: with three seeds the three claims take about half an hour on two busy cores.
    /// </summary>
    private static readonly LanguageModelProfile QuickLanguageModel = new()
    {
        RunByDefault = false,
        Steps = 600,
        Context = 64,
        BatchSize = 16,
        DModel = 64,
        Layers = 4,
        Heads = 4,
        FeedForward = 256,
        TransformerRate = 6e-3,
        WarmupSteps = 300,
        RecurrentHidden = 128,
        RecurrentEmbedding = 64,
        RecurrentRate = 3e-3,
        EvalEvery = 100,
        EvalWindows = 128,
        TimingRounds = 4,
    };

    /// <summary>The seeds of claim <paramref name="claim"/> (3 for a claim the profile does not list).</summary>
    public int SeedsFor(string claim) => Seeds.TryGetValue(claim, out int n) ? n : 3;

    /// <summary>The seed counts as text: "A 5, B 5, C 3, …".</summary>
    public string DescribeSeeds(IEnumerable<string>? claims = null) =>
        string.Join(", ", (claims ?? Seeds.Keys.Order(StringComparer.Ordinal)).Where(Seeds.ContainsKey).Select(c => $"{c} {Seeds[c]}"));

    /// <summary>The ten-minute profile.</summary>
    public static ExperimentProfile Quick { get; } = new()
    {
        Name = "quick",
        TrainImages = 0,
        Hidden = [1000, 1000],
        Epochs = 3,
        SweepRates = [1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1, 2e-1, 5e-1, 1.0],
        SweepImages = 2048,
        DeepLayers = 24,
        DeepWidth = 64,
        RecurrentImages = 3000,
        RecurrentEpochs = 2,
        RecurrentHidden = 64,
        AddingLength = 30,
        // Five seeds where a seed costs seconds (A, B/E, D, F); the learning-rate sweep C trains 30 runs per
        // seed and keeps three. With five seeds a 95% t interval is ±2.78 standard errors (±4.30 with three).
        Seeds = new Dictionary<string, int> { ["A"] = 5, ["B"] = 5, ["C"] = 3, ["D"] = 5, ["E"] = 5, ["F"] = 5, ["H"] = 3, ["I"] = 3, ["J"] = 3, ["K"] = 3 },
    };

    /// <summary>The paper-size profile.</summary>
    public static ExperimentProfile Full { get; } = new()
    {
        Name = "full",
        TrainImages = 0,
        Hidden = [1000, 1000],
        Epochs = 10,
        SweepRates = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0],
        SweepImages = 8192,
        DeepLayers = 24,
        DeepWidth = 256,
        RecurrentImages = 0,
        RecurrentEpochs = 10,
        RecurrentHidden = 128,
        AddingLength = 100,
        Seeds = new Dictionary<string, int> { ["A"] = 5, ["B"] = 5, ["C"] = 5, ["D"] = 5, ["E"] = 5, ["F"] = 5, ["H"] = 5, ["I"] = 5, ["J"] = 5, ["K"] = 5 },
        LanguageModel = QuickLanguageModel with
        {
            RunByDefault = true,
            Steps = 2000,
            Context = 128,
            DModel = 128,
            FeedForward = 512,
            WarmupSteps = 1000,
            RecurrentHidden = 256,
            RecurrentEmbedding = 128,
            EvalEvery = 200,
            EvalWindows = 256,
            TimingRounds = 6,
        },
    };
}
