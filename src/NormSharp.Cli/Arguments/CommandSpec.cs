namespace NormSharp.Cli.Arguments;

/// <summary>
/// A command of the <c>normsharp</c> tool: its options, an optional positional argument, and either a
/// handler or subcommands. <see cref="CommandTree"/> turns it into the parser's definition, from which
/// parsing, help and tab completion all come, so they cannot drift apart.
/// </summary>
internal sealed class CommandSpec
{
    public required string Name { get; init; }
    public required string Summary { get; init; }
    public string? Details { get; init; }
    public IReadOnlyList<OptionSpec> Options { get; init; } = [];
    public string? Positional { get; init; }
    public string? PositionalDescription { get; init; }
    public IReadOnlyList<CommandSpec> Subcommands { get; init; } = [];
    public Func<ParsedArguments, CliContext, int>? Handler { get; init; }
    public IReadOnlyList<string> Examples { get; init; } = [];
}
