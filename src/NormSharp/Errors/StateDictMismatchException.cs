namespace NormSharp.Errors;

/// <summary>
/// Thrown by <c>Module.LoadStateDict</c> when a state dictionary does not fit the model: it lists every
/// missing key, unexpected key and shape mismatch (PyTorch's "Error(s) in loading state_dict"), and
/// nothing was copied.
/// </summary>
public sealed class StateDictMismatchException : NormSharpException
{
    /// <summary>Creates the exception for a model of type <paramref name="model"/>.</summary>
    public StateDictMismatchException(string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatches)
        : base(Format(model, missing, unexpected, shapeMismatches))
    {
        MissingKeys = missing;
        UnexpectedKeys = unexpected;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>Keys the model has and the state dict lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Keys the state dict has and the model lacks.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>One line per tensor whose shape differs.</summary>
    public IReadOnlyList<string> ShapeMismatches { get; }

    private static string Format(string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatches)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add("missing key(s): " + string.Join(", ", missing.Select(k => $"\"{k}\"")));
        if (unexpected.Count > 0) parts.Add("unexpected key(s): " + string.Join(", ", unexpected.Select(k => $"\"{k}\"")));
        parts.AddRange(mismatches);
        return $"Error(s) in loading state_dict for {model}: {string.Join("; ", parts)}. Nothing was loaded.";
    }
}
