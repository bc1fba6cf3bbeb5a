using System.Text.Json;
using NormSharp.Tensors;

namespace NormSharp.Training;

/// <summary>Saves a random generator's position in checkpoints (e.g. the one a model's dropout draws from), so a resumed run draws the same numbers.</summary>
public sealed class RngState : ICheckpointState
{
    private readonly Rng _rng;

    /// <summary>Tracks <paramref name="rng"/> under <paramref name="key"/>.</summary>
    public RngState(string key, Rng rng)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(rng);
        StateKey = key;
        _rng = rng;
    }

    /// <inheritdoc />
    public string StateKey { get; }

    /// <inheritdoc />
    public string SaveState() => JsonSerializer.Serialize(_rng.GetState());

    /// <inheritdoc />
    public void LoadState(string state)
    {
        ulong[]? s;
        try
        {
            s = JsonSerializer.Deserialize<ulong[]>(state);
        }
        catch (JsonException e)
        {
            throw new Errors.InvalidValueException(nameof(state), $"RngState '{StateKey}': the saved state is not valid: {e.Message}");
        }
        _rng.SetState(s ?? throw new Errors.InvalidValueException(nameof(state), $"RngState '{StateKey}': the saved state is null."));
    }
}
