using System.Text;
using System.Text.Json;
using NormSharp.Errors;

namespace NormSharp.Data.Text;

/// <summary>
/// The characters (Unicode scalar values) a character-level language model knows, each with an id.
/// Id 0 is reserved for characters the vocabulary has never seen (<see cref="UnknownId"/>); the others
/// are the training text's characters in code-point order, so the same text always gives the same ids.
/// The vocabulary is stored with the model (<see cref="ToJson"/>) so that generation maps text exactly
/// as training did.
/// </summary>
public sealed class CharVocabulary
{
    /// <summary>The id of every character outside the vocabulary.</summary>
    public const int UnknownId = 0;

    private readonly int[] _symbols;
    private readonly Dictionary<int, int> _ids;

    private CharVocabulary(int[] symbols)
    {
        _symbols = symbols;
        _ids = new Dictionary<int, int>(symbols.Length);
        for (int i = 0; i < symbols.Length; i++)
            if (!_ids.TryAdd(symbols[i], i + 1))
                throw new InvalidValueException(nameof(symbols), $"CharVocabulary: the character U+{symbols[i]:X4} appears twice.");
    }

    /// <summary>The vocabulary of <paramref name="text"/>: every character it contains.</summary>
    public static CharVocabulary Build(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var set = new SortedSet<int>();
        foreach (var rune in text.EnumerateRunes()) set.Add(rune.Value);
        return new CharVocabulary(set.ToArray());
    }

    /// <summary>Number of ids, the unknown id included (the embedding and output width of a model).</summary>
    public int Size => _symbols.Length + 1;

    /// <summary>The known characters, in id order (id 1 first).</summary>
    public IReadOnlyList<Rune> Characters => _symbols.Select(s => new Rune(s)).ToArray();

    /// <summary>True when <paramref name="c"/> has an id of its own.</summary>
    public bool Contains(Rune c) => _ids.ContainsKey(c.Value);

    /// <summary>The id of <paramref name="c"/>, or <see cref="UnknownId"/>.</summary>
    public int IdOf(Rune c) => _ids.TryGetValue(c.Value, out int id) ? id : UnknownId;

    /// <summary>The ids of <paramref name="text"/>'s characters; unknown characters map to <see cref="UnknownId"/>.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes()) ids.Add(IdOf(rune));
        return ids.ToArray();
    }

    /// <summary>The characters <paramref name="text"/> holds that the vocabulary does not know, each once, in order of appearance.</summary>
    public IReadOnlyList<Rune> UnknownCharacters(string text)
    {
        var seen = new HashSet<int>();
        var result = new List<Rune>();
        foreach (var rune in text.EnumerateRunes())
            if (!_ids.ContainsKey(rune.Value) && seen.Add(rune.Value)) result.Add(rune);
        return result;
    }

    /// <summary>The text of <paramref name="ids"/>; the unknown id prints as U+FFFD (the replacement character).</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length);
        foreach (int id in ids) sb.Append(Decode(id));
        return sb.ToString();
    }

    /// <summary>The character of <paramref name="id"/>.</summary>
    public string Decode(int id)
    {
        if ((uint)id >= (uint)Size) throw new InvalidValueException(nameof(id), $"CharVocabulary: id {id} is outside [0, {Size}).");
        return id == UnknownId ? "\uFFFD" : new Rune(_symbols[id - 1]).ToString();
    }

    /// <summary>The vocabulary as JSON: <c>{"unknown_id":0,"characters":[code points in id order]}</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Stored { UnknownId = UnknownId, Characters = _symbols });

    /// <summary>Reads a vocabulary written by <see cref="ToJson"/>; <paramref name="source"/> names where it came from in errors.</summary>
    public static CharVocabulary FromJson(string json, string source)
    {
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(json);
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(source, $"the vocabulary is not valid JSON ({e.Message}).", e);
        }
        if (stored?.Characters is null || stored.UnknownId != UnknownId)
            throw new CorruptFileException(source, "the vocabulary lacks its characters or has another unknown id.");
        foreach (int c in stored.Characters)
            if (!Rune.IsValid(c)) throw new CorruptFileException(source, $"the vocabulary holds {c}, which is not a Unicode scalar value.");
        try
        {
            return new CharVocabulary(stored.Characters);
        }
        catch (InvalidValueException e)
        {
            throw new CorruptFileException(source, e.Message, e);
        }
    }

    private sealed class Stored
    {
        [System.Text.Json.Serialization.JsonPropertyName("unknown_id")] public int UnknownId { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("characters")] public int[]? Characters { get; set; }
    }
}
