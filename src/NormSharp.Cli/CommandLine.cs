using System.CommandLine;
using NormSharp.Cli.Arguments;
using NormSharp.Cli.Commands;
using NormSharp.Errors;

namespace NormSharp.Cli;

/// <summary>Entry point shared by the executable and the tests: parses, dispatches, and maps failures to exit codes.</summary>
internal static class CommandLine
{
    /// <summary>Exit code of a run that did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Exit code of a failure at run time (a diverged run, a full disk, a run folder in use by another process).</summary>
    public const int RuntimeFailure = 1;

    /// <summary>Exit code of a usage or input error (bad option, corrupt file, wrong shape, a model too large for memory).</summary>
    public const int InputError = 2;

    /// <summary>Exit code of a command interrupted by SIGINT (Ctrl-C): 128 + 2.</summary>
    public const int InterruptedBySigInt = InterruptSignals.SigIntExitCode;

    /// <summary>Exit code of a command interrupted by SIGTERM: 128 + 15.</summary>
    public const int InterruptedBySigTerm = InterruptSignals.SigTermExitCode;

    public static CommandSpec Root { get; } = new()
    {
        Name = "normsharp",
        Summary = "layer normalization for .NET: kernels, training, and the paper's experiments",
        Details = "Exit codes: 0 when the command did what was asked (a training run finished); 1 for a failure at run\n" +
                  "time (a diverged run, a full disk, a run folder in use by another process); 2 for a usage or input\n" +
                  "error (unknown option, bad value, corrupt file, a model too large for memory); 130 when interrupted\n" +
                  "by SIGINT (Ctrl-C) and 143 by SIGTERM, after a checkpoint. Failures print one 'error:' line\n" +
                  "(--verbose adds the stack trace). Arguments can be read from a response file: @FILE.",
        Subcommands =
        [
            ReproduceCommand.Spec,
            TrainCommand.Spec,
            GenerateCommand.Spec,
            BenchCommand.Spec,
            InspectCommand.Spec,
            ExportCommand.Spec,
        ],
    };

    private static readonly Lazy<CommandTree> Tree = new(() => new CommandTree(Root));

    /// <summary>The parser's definition of the whole command line (help and completion come from it).</summary>
    public static RootCommand Definition => Tree.Value.Root;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool? interactive = null)
    {
        bool verbose = args.Contains("--verbose");
        try
        {
            var tree = Tree.Value;
            var result = tree.Root.Parse(args);
            var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            // --help anywhere, and completion requests, are answered by the parser's own actions.
            if (CommandTree.IsBuiltIn(result)) return result.Invoke(invocation);
            var command = result.CommandResult.Command;
            var (spec, path) = tree.SpecOf(command);
            if (spec.Handler is null)
            {
                // A command that only groups others, typed alone: its help. Anything more is a mistake.
                var words = path.Split(' ').Skip(1).ToArray();
                if (args.Where(a => a != "--verbose").SequenceEqual(words)) return tree.Root.Parse([.. words, "--help"]).Invoke(invocation);
                if (result.UnmatchedTokens.Count > 0 || !args.Any(a => a.StartsWith("--", StringComparison.Ordinal) && a != "--verbose"))
                    throw new UsageException(tree.Problem(result));
                throw new UsageException($"'{path}' needs a command before its options (one of: {string.Join(", ", spec.Subcommands.Select(c => c.Name))})");
            }
            if (result.Errors.Count > 0) throw new UsageException(tree.Problem(result));
            var arguments = tree.Arguments(result, command);
            if (spec.Positional is not null && arguments.Positional is null) throw new UsageException($"'{path}' needs {spec.Positional}");
            string? multiplyAdd = Environment.GetEnvironmentVariable(NormSharp.Kernels.Numerics.UnfusedVariable);
            if (NormSharp.Kernels.Numerics.ParseUnfused(multiplyAdd) is null)
                throw new UsageException($"the environment variable {NormSharp.Kernels.Numerics.UnfusedVariable} must be 'exact' or 'unfused', not '{multiplyAdd}'");
            var context = new CliContext(stdout, stderr, interactive ?? (!Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out)), verbose);
            return spec.Handler(arguments, context);
        }
        catch (Exception e)
        {
            return Report(stderr, e, verbose);
        }
    }

    /// <summary>Prints the one <c>error:</c> line for <paramref name="e"/> (after <paramref name="prefix"/>, e.g. a rank) and returns its exit code.</summary>
    public static int Report(TextWriter stderr, Exception e, bool verbose, string prefix = "")
    {
        var (message, code) = e switch
        {
            UsageException => (e.Message, InputError),
            NormSharp.Data.DataUnavailableException => (e.Message + " (--data-dir DIR reads a folder of the four IDX files)", InputError),
            NormSharpException => (e.Message, InputError),
            OperationCanceledException => ("interrupted", InterruptedBySigInt),
            IOException or UnauthorizedAccessException => (e.Message, RuntimeFailure),
            _ => ($"{e.GetType().Name}: {e.Message}", RuntimeFailure),
        };
        return Fail(stderr, e, prefix + message, code, verbose);
    }

    private static int Fail(TextWriter stderr, Exception e, string message, int code, bool verbose)
    {
        // One line, so scripts can grep it; the stack only on request.
        stderr.WriteLine("error: " + message.ReplaceLineEndings(" "));
        if (verbose) stderr.WriteLine(e.ToString());
        return code;
    }
}
