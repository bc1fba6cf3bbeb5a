namespace NormSharp.Cli.Arguments;

/// <summary>
/// A command of the <c>normsharp</c> tool: its options, an optional positional argument, and either a
/// handler or subcommands. Help text is generated from this description, so it cannot drift from what is parsed.
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

    public string Help(string path)
    {
        var w = new StringWriter();
        w.WriteLine($"{path}: {Summary}");
        w.WriteLine();
        string usage = $"usage: {path}";
        if (Subcommands.Count > 0) usage += " <command>";
        if (Options.Count > 0) usage += " [options]";
        if (Positional is not null) usage += $" {Positional}";
        w.WriteLine(usage);
        if (Details is not null)
        {
            w.WriteLine();
            w.WriteLine(Details);
        }
        if (Subcommands.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("commands:");
            foreach (var c in Subcommands) w.WriteLine($"  {c.Name,-12} {c.Summary}");
            w.WriteLine();
            w.WriteLine($"Run '{path} <command> --help' for a command's options.");
        }
        if (Positional is not null)
        {
            w.WriteLine();
            w.WriteLine("arguments:");
            w.WriteLine($"  {Positional,-24} {PositionalDescription}");
        }
        w.WriteLine();
        w.WriteLine("options:");
        foreach (var o in Options)
        {
            string left = o.IsFlag ? $"--{o.Name}" : $"--{o.Name} {o.ValueName}";
            string def = o.Default is null ? "" : $" (default: {o.Default})";
            w.WriteLine($"  {left,-24} {o.Description}{def}");
        }
        w.WriteLine($"  {"--verbose",-24} print the full exception on failure");
        w.WriteLine($"  {"-h, --help",-24} show this help");
        if (Examples.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("examples:");
            foreach (var e in Examples) w.WriteLine($"  {e}");
        }
        return w.ToString();
    }
}
