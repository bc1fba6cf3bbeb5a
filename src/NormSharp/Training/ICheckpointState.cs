namespace NormSharp.Training;

/// <summary>
/// State that a checkpoint must carry for a resumed run to continue exactly (a batch source's position, a
/// detector's window, a log's length, a random generator). The trainer stores <see cref="SaveState"/>'s
/// text under <see cref="StateKey"/> in every checkpoint and hands it back to <see cref="LoadState"/> when
/// a checkpoint is loaded; a checkpoint that lacks the key is refused.
/// </summary>
public interface ICheckpointState
{
    /// <summary>The metadata key, unique among a trainer's parts.</summary>
    string StateKey { get; }

    /// <summary>The state as text (JSON for anything structured).</summary>
    string SaveState();

    /// <summary>Restores a state written by <see cref="SaveState"/>.</summary>
    void LoadState(string state);
}
