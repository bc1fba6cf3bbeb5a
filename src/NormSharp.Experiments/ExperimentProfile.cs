namespace NormSharp.Experiments;

/// <summary>
/// The sizes an experiment suite runs at, fixed in code (never calibrated to the machine, so results stay
/// comparable between machines). <see cref="Quick"/> runs every claim on images (A–G, L, M) at reduced size within
/// five minutes on two cores; <see cref="Full"/> runs every claim with the paper's 784-1000-1000-10
/// network and the language-modelling claims H–J within two hours per dataset on two cores (K only where Open MPI can
/// start its ranks). The report states which profile produced it, which claims ran, and which were left to the full
/// profile.
/// </summary>
public sealed record ExperimentProfile
{
    /// <summary>quick or full.</summary>
    public required string Name { get; init; }

    /// <summary>The claims this profile runs when none are named (<c>--only</c> runs others at this profile's sizes).</summary>
    public required IReadOnlyList<string> DefaultClaims { get; init; }

    /// <summary>
    /// Seeds per claim, unless the suite overrides them. Each arm of a claim runs on the same seeds (seed s: the
    /// same initialization and data order in every arm), and the verdicts compare arms seed by seed.
    /// </summary>
    public required IReadOnlyDictionary<string, int> Seeds { get; init; }

    /// <summary>The seed on which a claim that tunes learning rates chooses them; its runs are never reported as results.</summary>
    public ulong TuningSeed { get; init; } = 101;

    /// <summary>Held-out samples scored by the progress checks between epochs (learning curves, convergence detectors); epoch ends and final scores use all.</summary>
    public int EvalLimit { get; init; } = 2000;

    // A, L (and M's batch-128 comparison): the paper's permutation-invariant MLP.

    /// <summary>Training images of the MLP claims A and L (at most; 0: all).</summary>
    public required int TrainImages { get; init; }

    /// <summary>Hidden widths of the permutation-invariant MLP.</summary>
    public required int[] Hidden { get; init; }

    /// <summary>
    /// The normalizations claim A trains (spelled none, batch, layer, weight): BN and LN are judged; weight normalization
    /// and the plain net are reported beside them.
    /// </summary>
    public IReadOnlyList<string> MlpNorms { get; init; } = ["none", "batch", "layer", "weight"];

    /// <summary>Epochs of the MLP runs of A, L and M.</summary>
    public required int Epochs { get; init; }

    /// <summary>Held-out checks per epoch of the A and L runs (their test-error curves).</summary>
    public int EvaluationsPerEpoch { get; init; } = 4;

    /// <summary>Training images of the online-learning claim M (batch size 1 costs a step per image).</summary>
    public required int OnlineImages { get; init; }

    // B and E: convergence at matched and at tuned learning rates.

    /// <summary>Training images of B and E.</summary>
    public required int ConvergenceImages { get; init; }

    /// <summary>Epochs of B and E (long enough for the held-out loss to stop improving, which E's detector must see).</summary>
    public required int ConvergenceEpochs { get; init; }

    /// <summary>Adam learning rates of B and E: every arm runs at each.</summary>
    public required double[] ConvergenceRates { get; init; }

    /// <summary>Held-out checks per epoch of the B and E runs (E's convergence detector watches them).</summary>
    public int ConvergenceEvaluationsPerEpoch { get; init; } = 5;

    // C: windows of working learning rates.

    /// <summary>Training images of every sweep run of C (one epoch).</summary>
    public required int SweepImages { get; init; }

    /// <summary>Epochs of the sweep runs.</summary>
    public int SweepEpochs { get; init; } = 1;

    /// <summary>Learning rates swept with SGD (momentum 0.9).</summary>
    public required double[] SgdRates { get; init; }

    /// <summary>Learning rates swept with Adam.</summary>
    public required double[] AdamRates { get; init; }

    // D: gradients through depth.

    /// <summary>Depth of the deep MLP (claim D).</summary>
    public required int DeepLayers { get; init; }

    /// <summary>Width of the deep MLP.</summary>
    public required int DeepWidth { get; init; }

    /// <summary>Training images of the deep-MLP runs (one epoch).</summary>
    public int DeepImages { get; init; } = 2048;

    // F: recurrent networks.

    /// <summary>Training images of the sequential-MNIST runs (0: all).</summary>
    public required int RecurrentImages { get; init; }

    /// <summary>Epochs of the sequential-MNIST runs.</summary>
    public required int RecurrentEpochs { get; init; }

    /// <summary>Hidden size of the sequential-MNIST runs.</summary>
    public required int RecurrentHidden { get; init; }

    /// <summary>Held-out checks per epoch of the sequential-MNIST runs (steps to the accuracy target).</summary>
    public int RecurrentEvaluationsPerEpoch { get; init; } = 5;

    /// <summary>Whether F also trains the BN-LSTM baseline (reported, not judged: its train-vs-test gap against the criterion).</summary>
    public bool RecurrentBatchNormBaseline { get; init; }

    /// <summary>Length of the adding problem in training (evaluated also at twice that); 0 leaves the adding problem out.</summary>
    public int AddingLength { get; init; }

    /// <summary>Delay of the copy task in training (evaluated also at twice that); 0 leaves the copy task out.</summary>
    public int CopyDelay { get; init; }

    /// <summary>Training sequences of each synthetic task (adding, copy).</summary>
    public int SyntheticSequences { get; init; } = 10_000;

    /// <summary>Epochs of each synthetic task.</summary>
    public int SyntheticEpochs { get; init; } = 4;

    /// <summary>Hidden size of the synthetic-task runs.</summary>
    public int SyntheticHidden { get; init; } = 64;

    /// <summary>The sizes of the language-modelling claims H–J.</summary>
    public LanguageModelProfile LanguageModel { get; init; } = QuickLanguageModel;

    /// <summary>
    /// Quick language-modelling sizes: a 4-block, 64-wide Transformer and a 128-unit LSTM, 600 steps of 16 windows of
    /// 64 characters. The quick profile leaves claims H–J to the full one (with three seeds they took 3.1 minutes on two
    /// shared cores, which would take the quick profile past five); named explicitly, they run at these sizes.
    /// </summary>
    private static readonly LanguageModelProfile QuickLanguageModel = new()
    {
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

    /// <summary>The seeds of claim <paramref name="claim"/> (5 for a claim the profile does not list).</summary>
    public int SeedsFor(string claim) => Seeds.TryGetValue(claim, out int n) ? n : 5;

    /// <summary>The seed counts as text: "A 5, B 5, C 3, …".</summary>
    public string DescribeSeeds(IEnumerable<string>? claims = null) =>
        string.Join(", ", (claims ?? Seeds.Keys.Order(StringComparer.Ordinal)).Where(Seeds.ContainsKey).Select(c => $"{c} {Seeds[c]}"));

    /// <summary>
    /// The short profile: every claim on images (A–G, L, M) at reduced size, 5 seeds each (3 for C, whose sweep trains
    /// 28 runs per seed), BN-LSTM included in F. Measured on two shared cores it takes 2 to 5 minutes (3.7 CPU-minutes),
    /// so a two-core machine half as fast still fits ten. It leaves the language-model claims H–J (another 3 minutes at
    /// their quick sizes) and the data-parallel claim K (several processes) to the full profile.
    /// </summary>
    public static ExperimentProfile Quick { get; } = new()
    {
        Name = "quick",
        DefaultClaims = ["A", "B", "C", "D", "E", "F", "G", "L", "M"],
        // With five seeds a 95% t interval is ±2.78 standard errors (±4.30 with three).
        Seeds = new Dictionary<string, int> { ["A"] = 5, ["B"] = 5, ["C"] = 3, ["D"] = 5, ["E"] = 5, ["F"] = 5, ["H"] = 3, ["I"] = 3, ["J"] = 3, ["K"] = 3, ["L"] = 5, ["M"] = 5 },
        TrainImages = 8000,
        Hidden = [500, 500],
        Epochs = 2,
        OnlineImages = 2000,
        // 2,000 images for 8 epochs (128 steps): the held-out loss stops improving within the run, so E's plateau
        // detector has a plateau to find (with 4,000 images for 4 epochs, the same steps, it fired in 4 of 45 runs).
        ConvergenceImages = 2000,
        ConvergenceEpochs = 8,
        ConvergenceEvaluationsPerEpoch = 3,
        ConvergenceRates = [3e-4, 1e-3, 3e-3],
        SweepImages = 4096,
        SgdRates = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0],
        AdamRates = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
        DeepLayers = 24,
        DeepWidth = 64,
        RecurrentImages = 4000,
        RecurrentEpochs = 3,
        RecurrentHidden = 64,
        RecurrentBatchNormBaseline = true,
        AddingLength = 0,
    };

    /// <summary>The paper-size profile: every claim, the 784-1000-1000-10 network, at least 5 seeds everywhere.</summary>
    public static ExperimentProfile Full { get; } = new()
    {
        Name = "full",
        DefaultClaims = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M"],
        Seeds = new Dictionary<string, int> { ["A"] = 5, ["B"] = 5, ["C"] = 5, ["D"] = 5, ["E"] = 5, ["F"] = 5, ["H"] = 5, ["I"] = 5, ["J"] = 5, ["K"] = 5, ["L"] = 5, ["M"] = 5 },
        // Training sets are capped at 8,000 images (all of mnist-digits; the first 8,000 of Fashion-MNIST's 60,000), test
        // sets are whole: at batch 4 and batch 1 a step costs the same whatever the batch, so larger sets would not fit
        // two hours on two shared cores.
        TrainImages = 8000,
        Hidden = [1000, 1000],
        Epochs = 3,
        OnlineImages = 4000,
        // As in quick, a small set trained for many epochs (the same 192 steps as 4,000 images for 6), so that the
        // held-out loss turns within the run.
        ConvergenceImages = 2000,
        ConvergenceEpochs = 12,
        ConvergenceEvaluationsPerEpoch = 3,
        ConvergenceRates = [3e-4, 1e-3, 3e-3],
        SweepImages = 8192,
        SgdRates = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0],
        AdamRates = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
        DeepLayers = 24,
        DeepWidth = 256,
        RecurrentImages = 8000,
        RecurrentEpochs = 10,
        RecurrentHidden = 128,
        RecurrentBatchNormBaseline = true,
        AddingLength = 30,
        CopyDelay = 20,
        LanguageModel = QuickLanguageModel with
        {
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
