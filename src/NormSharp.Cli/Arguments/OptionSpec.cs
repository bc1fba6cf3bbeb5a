namespace NormSharp.Cli.Arguments;

/// <summary>One <c>--name VALUE</c> option (or a flag when <see cref="ValueName"/> is null) of a command.</summary>
internal sealed record OptionSpec(string Name, string? ValueName, string Description, string? Default = null)
{
    public bool IsFlag => ValueName is null;
}
