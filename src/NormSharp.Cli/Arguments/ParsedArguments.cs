using System.Globalization;

namespace NormSharp.Cli.Arguments;

/// <summary>The options of one command line, with typed accessors that name the option in every error.</summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, string?> _values;
    private readonly CommandSpec _command;

    public ParsedArguments(CommandSpec command, Dictionary<string, string?> values, string? positional)
    {
        _command = command;
        _values = values;
        Positional = positional;
    }

    public string? Positional { get; }

    public bool Has(string name) => _values.ContainsKey(name);

    public bool Flag(string name) => _values.TryGetValue(name, out var v) && !string.Equals(v, "false", StringComparison.OrdinalIgnoreCase);

    public string? String(string name) => _values.TryGetValue(name, out var v) ? v : DefaultOf(name);

    public string RequiredString(string name) =>
        String(name) ?? throw new UsageException($"option --{name} is required");

    public int Int(string name, int? min = null, int? max = null)
    {
        string raw = RequiredString(name);
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new UsageException($"--{name} expects a whole number, got '{raw}'");
        CheckRange(name, v, min, max);
        return v;
    }

    public long Long(string name, long? min = null)
    {
        string raw = RequiredString(name);
        if (!long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            throw new UsageException($"--{name} expects a whole number, got '{raw}'");
        if (min is { } lo && v < lo) throw new UsageException($"--{name} must be at least {lo}, got {v}");
        return v;
    }

    public double Double(string name, double? minExclusive = null)
    {
        string raw = RequiredString(name);
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new UsageException($"--{name} expects a finite number, got '{raw}'");
        if (minExclusive is { } lo && v <= lo) throw new UsageException($"--{name} must be greater than {lo.ToString(CultureInfo.InvariantCulture)}, got {raw}");
        return v;
    }

    public int[] IntList(string name, int min = 1)
    {
        string raw = RequiredString(name);
        var parts = raw.Split(',', StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out result[i]) || result[i] < min)
                throw new UsageException($"--{name} expects a comma-separated list of whole numbers >= {min}, got '{raw}'");
        }
        return result;
    }

    public string Choice(string name, params string[] allowed)
    {
        string raw = RequiredString(name);
        if (Array.IndexOf(allowed, raw) < 0)
            throw new UsageException($"--{name} must be one of {string.Join("|", allowed)}, got '{raw}'");
        return raw;
    }

    public TEnum Enum<TEnum>(string name) where TEnum : struct, System.Enum
    {
        var names = NormSharp.Experiments.Recipes.Spelling.Names<TEnum>();
        string raw = Choice(name, [.. names]);
        return System.Enum.GetValues<TEnum>()[names.ToList().IndexOf(raw)];
    }

    private static void CheckRange(string name, long v, long? min, long? max)
    {
        if (min is { } lo && v < lo) throw new UsageException($"--{name} must be at least {lo}, got {v}");
        if (max is { } hi && v > hi) throw new UsageException($"--{name} must be at most {hi}, got {v}");
    }

    private string? DefaultOf(string name) => _command.Options.FirstOrDefault(o => o.Name == name)?.Default;
}
