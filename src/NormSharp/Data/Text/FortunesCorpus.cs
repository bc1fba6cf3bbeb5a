using NormSharp.Errors;

namespace NormSharp.Data.Text;

/// <summary>
/// The English text of Debian's <c>fortunes</c> package: plain-text files whose entries are separated by
/// lines holding a single <c>%</c>. The binary <c>.dat</c> indexes and the <c>.u8</c> links (which repeat
/// the text files) are skipped; files are read in name order.
/// </summary>
public static class FortunesCorpus
{
    /// <summary>Where the Debian package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/games/fortunes";

    /// <summary>Reads every fortune of <paramref name="directory"/> and splits them into training and validation entries.</summary>
    /// <exception cref="DataUnavailableException">The folder does not exist or holds no fortune files.</exception>
    public static TextCorpus Load(string directory = DefaultDirectory)
    {
        if (!Directory.Exists(directory))
            throw new DataUnavailableException($"the fortunes corpus folder {directory} does not exist; install Debian's 'fortunes' package (apt-get install fortunes) or give another folder of fortune files.");
        var files = Directory.EnumerateFiles(directory)
            .Where(IsTextFile)
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) throw new DataUnavailableException($"the folder {directory} holds no fortune files (plain text with '%' separators).");
        var entries = new List<string>();
        foreach (var file in files) entries.AddRange(Entries(StrictUtf8.ReadFile(file)));
        return TextCorpus.FromEntries("fortunes", entries);
    }

    /// <summary>The entries of one fortune file's text.</summary>
    public static IEnumerable<string> Entries(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var current = new List<string>();
        foreach (var line in lines)
        {
            if (line == "%")
            {
                if (current.Count > 0) yield return string.Join('\n', current).Trim('\n');
                current.Clear();
            }
            else current.Add(line);
        }
        if (current.Count > 0 && current.Any(l => l.Length > 0)) yield return string.Join('\n', current).Trim('\n');
    }

    private static bool IsTextFile(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) return false; // the .u8 links repeat the text files
        string name = info.Name;
        return !name.EndsWith(".dat", StringComparison.Ordinal) && !name.EndsWith(".u8", StringComparison.Ordinal) && !name.StartsWith('.');
    }
}
