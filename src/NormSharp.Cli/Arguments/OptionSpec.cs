namespace NormSharp.Cli.Arguments;

/// <summary>
/// One <c>--name VALUE</c> option (or a flag when <see cref="ValueName"/> is null) of a command. With
/// <see cref="Choices"/> (taken from an enum's spellings), the parser accepts only those values, and help
/// and tab completion list them.
/// </summary>
internal sealed record OptionSpec(string Name, string? ValueName, string Description, string? Default = null)
{
    public bool IsFlag => ValueName is null;

    public IReadOnlyList<string>? Choices { get; init; }
}
