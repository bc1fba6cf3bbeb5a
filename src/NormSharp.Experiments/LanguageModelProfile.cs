namespace NormSharp.Experiments;

/// <summary>
/// The sizes of the language-modelling claims (H, I, J): a small character-level Transformer and LSTM on a text
/// corpus, all trained for the same number of steps on the same windows.
/// </summary>
public sealed record LanguageModelProfile
{
    /// <summary>The text corpus (a name the host can load, e.g. <c>fortunes</c>).</summary>
    public string Corpus { get; init; } = "fortunes";

    /// <summary>Training steps of every run.</summary>
    public required int Steps { get; init; }

    /// <summary>Characters per window.</summary>
    public required int Context { get; init; }

    /// <summary>Windows per step.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Transformer width.</summary>
    public required int DModel { get; init; }

    /// <summary>Transformer blocks.</summary>
    public required int Layers { get; init; }

    /// <summary>Attention heads.</summary>
    public required int Heads { get; init; }

    /// <summary>Feed-forward width.</summary>
    public required int FeedForward { get; init; }

    /// <summary>
    /// The (Adam) learning rate of the Transformer runs of H and J: one at which Post-LN without warm-up is expected
    /// to fail while Pre-LN trains.
    /// </summary>
    public required double TransformerRate { get; init; }

    /// <summary>Warm-up steps of the warmed-up Post-LN arm (linear from 0).</summary>
    public required int WarmupSteps { get; init; }

    /// <summary>Hidden size of the LSTMs of claim I.</summary>
    public required int RecurrentHidden { get; init; }

    /// <summary>Character-vector width of the LSTMs.</summary>
    public required int RecurrentEmbedding { get; init; }

    /// <summary>Learning rate of the LSTMs.</summary>
    public required double RecurrentRate { get; init; }

    /// <summary>Steps between held-out evaluations (the validation curves).</summary>
    public required int EvalEvery { get; init; }

    /// <summary>Validation windows scored at each of those evaluations (the final score uses the whole validation text).</summary>
    public required int EvalWindows { get; init; }

    /// <summary>Rounds of alternating timed steps per seed in claim J's speed comparison.</summary>
    public required int TimingRounds { get; init; }
}
