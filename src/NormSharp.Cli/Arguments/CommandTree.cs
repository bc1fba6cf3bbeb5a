using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace NormSharp.Cli.Arguments;

/// <summary>
/// The <c>normsharp</c> command line as System.CommandLine definitions, built from the <see cref="CommandSpec"/>
/// tree: System.CommandLine tokenizes (with <c>@file</c> response files), generates help and tab completion
/// (the <c>[suggest]</c> directive used by <c>dotnet-suggest</c>), and reports unknown or malformed input;
/// the commands' handlers then read their options through <see cref="ParsedArguments"/>.
/// </summary>
internal sealed class CommandTree
{
    private readonly Dictionary<Command, (CommandSpec Spec, string Path)> _specs = new();
    private readonly Dictionary<Command, (Option Option, OptionSpec Spec)[]> _options = new();
    private readonly Dictionary<Command, Argument<string>> _positionals = new();

    public CommandTree(CommandSpec root)
    {
        Root = new RootCommand(Describe(root));
        Verbose = new Option<bool>("--verbose") { Description = "print the full exception on failure", Recursive = true };
        Root.Options.Add(Verbose);
        Fill(Root, root, root.Name);
        // Lists of subcommands show one-line summaries; a command's own help adds its details and examples.
        foreach (var option in Root.Options.OfType<HelpOption>())
            if (option.Action is HelpAction standard) option.Action = new DetailedHelpAction(standard, this);
    }

    /// <summary>The standard generated help, followed by the command's details and examples.</summary>
    private sealed class DetailedHelpAction(HelpAction standard, CommandTree tree) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = standard.Invoke(parseResult);
            var (spec, _) = tree.SpecOf(parseResult.CommandResult.Command);
            var output = parseResult.InvocationConfiguration.Output;
            if (spec.Details is not null)
            {
                output.WriteLine(spec.Details);
                output.WriteLine();
            }
            if (spec.Examples.Count > 0)
            {
                output.WriteLine("Examples:");
                foreach (var e in spec.Examples) output.WriteLine("  " + e);
                output.WriteLine();
            }
            return code;
        }
    }

    public RootCommand Root { get; }

    public Option<bool> Verbose { get; }

    /// <summary>The spec and the path (e.g. <c>normsharp bench train</c>) of a parsed command.</summary>
    public (CommandSpec Spec, string Path) SpecOf(Command command) => _specs[command];

    private void Fill(Command command, CommandSpec spec, string path)
    {
        _specs[command] = (spec, path);
        var options = new List<(Option, OptionSpec)>();
        foreach (var o in spec.Options)
        {
            Option option = o.IsFlag ? new Option<bool>("--" + o.Name) { Description = o.Description } : Valued(o);
            command.Options.Add(option);
            options.Add((option, o));
        }
        _options[command] = [.. options];
        if (spec.Positional is not null)
        {
            // Optional for the parser, so that a missing one is reported by the command in its own words.
            var argument = new Argument<string>(spec.Positional) { Description = spec.PositionalDescription, Arity = ArgumentArity.ZeroOrOne };
            command.Arguments.Add(argument);
            _positionals[command] = argument;
        }
        foreach (var sub in spec.Subcommands)
        {
            var child = new Command(sub.Name, Describe(sub));
            command.Subcommands.Add(child);
            Fill(child, sub, path + " " + sub.Name);
        }
    }

    private static Option<string> Valued(OptionSpec o)
    {
        var option = new Option<string>("--" + o.Name)
        {
            Description = o.Description,
            HelpName = o.Choices is { } c ? string.Join("|", c) : o.ValueName,
        };
        if (o.Default is { } d) option.DefaultValueFactory = _ => d;
        if (o.Choices is { } choices)
        {
            option.CompletionSources.Add([.. choices]);
            option.Validators.Add(r =>
            {
                if (r.Implicit) return;
                string? v = r.Tokens.Count > 0 ? r.Tokens[0].Value : null;
                if (v is not null && !choices.Contains(v)) r.AddError($"--{o.Name} must be one of {string.Join("|", choices)}, got '{v}'");
            });
        }
        return option;
    }

    private static string Describe(CommandSpec spec) => spec.Summary;

    /// <summary>The options the user gave (flags with a null value), and the positional argument.</summary>
    public ParsedArguments Arguments(ParseResult result, Command command)
    {
        var (spec, _) = _specs[command];
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (option, o) in _options[command])
        {
            if (result.GetResult(option) is not OptionResult r || r.Implicit) continue;
            values[o.Name] = r.Tokens.Count > 0 ? r.Tokens[0].Value : null;
        }
        string? positional = _positionals.TryGetValue(command, out var argument) ? result.GetValue(argument) : null;
        return new ParsedArguments(spec, values, positional);
    }

    /// <summary>One line saying what is wrong with a command line that did not parse.</summary>
    public string Problem(ParseResult result)
    {
        var (spec, path) = _specs[result.CommandResult.Command];
        if (result.UnmatchedTokens.Count > 0)
        {
            string t = result.UnmatchedTokens[0];
            if (t.StartsWith('-') && t.Length > 1) return $"unknown option '{t}' for '{path}' (see '{path} --help')";
            if (spec.Subcommands.Count > 0)
                return $"unknown command '{t}' for '{path}' (expected one of: {string.Join(", ", spec.Subcommands.Select(c => c.Name))})";
            return $"unexpected argument '{t}' for '{path}'";
        }
        if (result.Errors.Count > 0) return result.Errors[0].Message;
        return $"'{path}' needs a command (one of: {string.Join(", ", spec.Subcommands.Select(c => c.Name))})";
    }

    /// <summary>True when the parse asks for help, completions or another built-in action rather than a command.</summary>
    public static bool IsBuiltIn(ParseResult result) =>
        result.Action is HelpAction or DetailedHelpAction || result.Action?.GetType().Namespace == typeof(SuggestDirective).Namespace;
}
