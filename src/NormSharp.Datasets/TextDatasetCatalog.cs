using NormSharp.Data.Text;

namespace NormSharp.Datasets;

/// <summary>The text corpora NormSharp knows by name, for character-level language modelling.</summary>
public static class TextDatasetCatalog
{
    /// <summary>The names accepted by <see cref="Load"/>.</summary>
    public static readonly string[] Names = ["fortunes"];

    /// <summary>True when <paramref name="name"/> is a text corpus.</summary>
    public static bool Contains(string name) => Array.IndexOf(Names, name) >= 0;

    /// <summary>
    /// The corpus of <paramref name="dataFile"/> (any UTF-8 text file) when given, else the named corpus
    /// (read from <paramref name="dataDir"/> instead of its default location when given).
    /// </summary>
    /// <exception cref="Data.DataUnavailableException">The corpus is not installed or the folder is missing.</exception>
    /// <exception cref="Errors.CorruptFileException">The text file is missing, empty or not UTF-8.</exception>
    public static TextCorpus Load(string name, string? dataFile = null, string? dataDir = null)
    {
        if (dataFile is not null) return TextCorpus.FromFile(dataFile);
        return name switch
        {
            "fortunes" => FortunesCorpus.Load(dataDir ?? FortunesCorpus.DefaultDirectory),
            _ => throw new Errors.InvalidValueException("dataset", $"unknown text corpus '{name}' (expected one of {string.Join("|", Names)}, or a text file)"),
        };
    }
}
