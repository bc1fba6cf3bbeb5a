namespace NormSharp.Cli.Arguments;

/// <summary>Parses <c>normsharp [command [subcommand]] [--option value]... [positional]</c> strictly: anything unknown is an error.</summary>
internal static class ArgumentParser
{
    /// <summary>Result of walking the command tree: the command reached, its path, and either parsed options or a help request.</summary>
    public sealed record Result(CommandSpec Command, string Path, ParsedArguments? Arguments, bool HelpRequested, bool Verbose);

    public static Result Parse(CommandSpec root, IReadOnlyList<string> args)
    {
        var command = root;
        string path = root.Name;
        int i = 0;
        bool verbose = args.Contains("--verbose");
        while (i < args.Count && command.Subcommands.Count > 0 && !args[i].StartsWith('-'))
        {
            var next = command.Subcommands.FirstOrDefault(c => c.Name == args[i])
                ?? throw new UsageException($"unknown command '{args[i]}' for '{path}' (expected one of: {string.Join(", ", command.Subcommands.Select(c => c.Name))})");
            command = next;
            path += " " + next.Name;
            i++;
        }
        if (args.Skip(i).Any(a => a is "--help" or "-h")) return new Result(command, path, null, true, verbose);
        if (command.Handler is null)
        {
            if (i < args.Count && args[i] != "--verbose")
                throw new UsageException($"'{path}' needs a command before its options (one of: {string.Join(", ", command.Subcommands.Select(c => c.Name))})");
            return new Result(command, path, null, true, verbose);
        }

        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        string? positional = null;
        for (; i < args.Count; i++)
        {
            string a = args[i];
            if (a == "--verbose") continue;
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                string name = a[2..];
                string? inline = null;
                int eq = name.IndexOf('=');
                if (eq >= 0)
                {
                    inline = name[(eq + 1)..];
                    name = name[..eq];
                }
                var spec = command.Options.FirstOrDefault(o => o.Name == name)
                    ?? throw new UsageException($"unknown option '--{name}' for '{path}' (see '{path} --help')");
                if (values.ContainsKey(name)) throw new UsageException($"option --{name} is given twice");
                if (spec.IsFlag)
                {
                    if (inline is not null) throw new UsageException($"option --{name} takes no value");
                    values[name] = null;
                    continue;
                }
                if (inline is null)
                {
                    if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                        throw new UsageException($"option --{name} needs a value ({spec.ValueName})");
                    inline = args[++i];
                }
                values[name] = inline;
            }
            else if (a.StartsWith('-') && a.Length > 1 && !char.IsDigit(a[1]))
                throw new UsageException($"unknown option '{a}' for '{path}' (options are spelled --name)");
            else if (command.Positional is not null && positional is null) positional = a;
            else throw new UsageException($"unexpected argument '{a}' for '{path}'");
        }
        if (command.Positional is not null && positional is null)
            throw new UsageException($"'{path}' needs {command.Positional}");
        return new Result(command, path, new ParsedArguments(command, values, positional), false, verbose);
    }
}
