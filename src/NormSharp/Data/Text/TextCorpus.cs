using System.Text;
using NormSharp.Errors;

namespace NormSharp.Data.Text;

/// <summary>
/// A text split into training and validation parts by whole entries (a fortune, a paragraph), never in
/// the middle of one: every tenth entry (the 10th, 20th, …, in reading order) is for validation. The
/// split depends only on the text, so it is the same on every machine and every run. Entries are
/// joined with a newline.
/// </summary>
public sealed class TextCorpus
{
    /// <summary>Every this-many-th entry goes to validation.</summary>
    public const int ValidationEvery = 10;

    private TextCorpus(string name, string train, string validation, int entries)
    {
        Name = name;
        Train = train;
        Validation = validation;
        EntryCount = entries;
    }

    /// <summary>Where the text came from, e.g. <c>fortunes</c> or a file name.</summary>
    public string Name { get; }

    /// <summary>The training text.</summary>
    public string Train { get; }

    /// <summary>The validation text.</summary>
    public string Validation { get; }

    /// <summary>Number of entries in all.</summary>
    public int EntryCount { get; }

    /// <summary>Splits <paramref name="entries"/> (in reading order) into training and validation text.</summary>
    public static TextCorpus FromEntries(string name, IReadOnlyList<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var kept = entries.Where(e => !string.IsNullOrWhiteSpace(e)).ToList();
        if (kept.Count == 0) throw new InvalidValueException(nameof(entries), $"{name}: the text holds no entries (it is empty or only whitespace).");
        var train = new StringBuilder();
        var validation = new StringBuilder();
        for (int i = 0; i < kept.Count; i++)
        {
            // With a single entry, or very few, validation still gets one if there are at least two.
            bool toValidation = (i + 1) % ValidationEvery == 0 || (kept.Count < ValidationEvery && kept.Count > 1 && i == kept.Count - 1);
            (toValidation ? validation : train).Append(kept[i]).Append('\n');
        }
        return new TextCorpus(name, train.ToString(), validation.ToString(), kept.Count);
    }

    /// <summary>
    /// Reads a UTF-8 text file whose entries are separated by blank lines (paragraphs); a file without
    /// blank lines is split by lines. Throws <see cref="CorruptFileException"/> naming the file when it is
    /// missing, empty, or not valid UTF-8.
    /// </summary>
    public static TextCorpus FromFile(string path)
    {
        string text = StrictUtf8.ReadFile(path);
        if (text.Trim().Length == 0) throw new CorruptFileException(path, "the file holds no text.");
        var normalized = text.Replace("\r\n", "\n");
        var paragraphs = normalized.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim('\n')).Where(p => p.Length > 0).ToList();
        var entries = paragraphs.Count >= 2 ? paragraphs : normalized.Split('\n').Where(l => l.Length > 0).ToList();
        return FromEntries(Path.GetFileName(path), entries);
    }

    /// <summary>Checks that both parts are long enough for windows of <paramref name="context"/> characters plus the one to predict.</summary>
    public void RequireContext(int context)
    {
        if (context <= 0) throw new InvalidValueException(nameof(context), $"{Name}: the context must be at least 1 character, got {context}.");
        int train = CountRunes(Train), validation = CountRunes(Validation);
        if (train < context + 1)
            throw new InvalidValueException(nameof(context), $"{Name}: the training text has {train} characters, fewer than one context window of {context} plus the character to predict.");
        if (validation < context + 1)
            throw new InvalidValueException(nameof(context), $"{Name}: the validation text (every {ValidationEvery}th entry) has {validation} characters, fewer than one context window of {context} plus the character to predict.");
    }

    private static int CountRunes(string s)
    {
        int n = 0;
        foreach (var _ in s.EnumerateRunes()) n++;
        return n;
    }
}
