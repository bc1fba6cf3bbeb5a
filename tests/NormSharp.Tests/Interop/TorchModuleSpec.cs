using System.Globalization;
using System.Text;

namespace NormSharp.Tests.Interop;

/// <summary>
/// A PyTorch module constructor as the interop cases spell it in their <c>module</c> metadata, e.g.
/// <c>nn.Sequential(nn.Linear(12,32), nn.LayerNorm(32), nn.ReLU())</c> or
/// <c>nn.LSTM(12, 16, num_layers=2, batch_first=True)</c>: a name, positional arguments and keyword
/// arguments, where an argument is a number, True/False/None, a quoted string or another constructor.
/// Text after the outermost call (such as ", eval mode") is not part of it.
/// </summary>
internal sealed record TorchModuleSpec(string Kind, IReadOnlyList<object?> Args, IReadOnlyDictionary<string, object?> Kwargs)
{
    public static TorchModuleSpec Parse(string text)
    {
        int i = 0;
        var spec = ParseCall(text, ref i);
        return spec;
    }

    public int Int(int position, string keyword, int? fallback = null) =>
        Get(position, keyword) switch
        {
            double d when d == Math.Floor(d) => (int)d,
            null when fallback is int f => f,
            var v => throw new FormatException($"{Kind}: argument '{keyword}' should be an integer, got {v ?? "nothing"}."),
        };

    public double Number(int position, string keyword, double fallback) => Get(position, keyword) is double d ? d : fallback;

    public bool Bool(int position, string keyword, bool fallback) => Get(position, keyword) is bool b ? b : fallback;

    public string? String(int position, string keyword) => Get(position, keyword) as string;

    private object? Get(int position, string keyword) =>
        Kwargs.TryGetValue(keyword, out var v) ? v : position >= 0 && position < Args.Count ? Args[position] : null;

    private static TorchModuleSpec ParseCall(string s, ref int i)
    {
        SkipSpaces(s, ref i);
        int start = i;
        while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '.' or '_')) i++;
        string kind = s[start..i];
        if (kind.Length == 0 || i >= s.Length || s[i] != '(') throw new FormatException($"expected a module constructor at position {start} of '{s}'.");
        i++;
        var args = new List<object?>();
        var kwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        SkipSpaces(s, ref i);
        while (i < s.Length && s[i] != ')')
        {
            int save = i;
            string word = ReadWord(s, ref i);
            SkipSpaces(s, ref i);
            if (word.Length > 0 && i < s.Length && s[i] == '=')
            {
                i++;
                kwargs[word] = ParseValue(s, ref i);
            }
            else
            {
                i = save;
                args.Add(ParseValue(s, ref i));
            }
            SkipSpaces(s, ref i);
            if (i < s.Length && s[i] == ',') i++;
            SkipSpaces(s, ref i);
        }
        if (i >= s.Length) throw new FormatException($"unclosed '(' in '{s}'.");
        i++;
        return new TorchModuleSpec(kind, args, kwargs);
    }

    private static object? ParseValue(string s, ref int i)
    {
        SkipSpaces(s, ref i);
        if (s[i] is '\'' or '"')
        {
            char quote = s[i++];
            var sb = new StringBuilder();
            while (i < s.Length && s[i] != quote) sb.Append(s[i++]);
            i++;
            return sb.ToString();
        }
        int save = i;
        string word = ReadWord(s, ref i);
        if (i < s.Length && s[i] == '(')
        {
            i = save;
            return ParseCall(s, ref i);
        }
        return word switch
        {
            "True" => true,
            "False" => false,
            "None" => null,
            _ => double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : throw new FormatException($"cannot read the value '{word}' in '{s}'."),
        };
    }

    private static string ReadWord(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '.' or '_' or '-' or '+')) i++;
        return s[start..i];
    }

    private static void SkipSpaces(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
    }
}
