using System.Text.Json.Serialization;

namespace NormSharp.Data;

/// <summary>Where a <see cref="BatchLoader"/> stands: enough to continue with exactly the batches an uninterrupted run would see.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Position">Samples of this epoch already handed out.</param>
public sealed record LoaderState([property: JsonPropertyName("epoch")] int Epoch, [property: JsonPropertyName("position")] int Position)
{
    /// <summary>Reads a position saved as JSON by a loader's checkpoint state; <paramref name="owner"/> names the loader in errors.</summary>
    /// <exception cref="Errors.InvalidValueException">The text is not a saved position.</exception>
    public static LoaderState Parse(string state, string owner)
    {
        LoaderState? parsed;
        try
        {
            parsed = System.Text.Json.JsonSerializer.Deserialize<LoaderState>(state);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new Errors.InvalidValueException(nameof(state), $"{owner}: the saved position '{state}' is not valid: {e.Message}");
        }
        return parsed ?? throw new Errors.InvalidValueException(nameof(state), $"{owner}: the saved position is null.");
    }
}
