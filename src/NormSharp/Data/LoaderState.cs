using System.Text.Json.Serialization;

namespace NormSharp.Data;

/// <summary>Where a <see cref="BatchLoader"/> stands: enough to continue with exactly the batches an uninterrupted run would see.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Position">Samples of this epoch already handed out.</param>
public sealed record LoaderState([property: JsonPropertyName("epoch")] int Epoch, [property: JsonPropertyName("position")] int Position);
