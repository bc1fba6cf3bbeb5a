using NormSharp.Cli.Arguments;
using NormSharp.Cli.Commands;
using NormSharp.Errors;

namespace NormSharp.Cli;

/// <summary>Entry point shared by the executable and the tests: parses, dispatches, and maps failures to exit codes.</summary>
internal static class CommandLine
{
    /// <summary>Exit code of a run that did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Exit code of a failure at run time (out of memory, a disk error, a diverged run that had to stop).</summary>
    public const int RuntimeFailure = 1;

    /// <summary>Exit code of a usage or input error (bad option, corrupt file, wrong shape).</summary>
    public const int InputError = 2;

    public static CommandSpec Root { get; } = new()
    {
        Name = "normsharp",
        Summary = "layer normalization for .NET: kernels, training, and the paper's experiments",
        Subcommands =
        [
            ReproduceCommand.Spec,
            TrainCommand.Spec,
            BenchCommand.Spec,
            InspectCommand.Spec,
        ],
    };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool? interactive = null)
    {
        bool verbose = args.Contains("--verbose");
        try
        {
            var parsed = ArgumentParser.Parse(Root, args);
            if (parsed.HelpRequested)
            {
                stdout.Write(parsed.Command.Help(parsed.Path));
                return Ok;
            }
            var context = new CliContext(stdout, stderr, interactive ?? (!Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out)), verbose);
            return parsed.Command.Handler!(parsed.Arguments!, context);
        }
        catch (UsageException e)
        {
            return Fail(stderr, e, e.Message, InputError, verbose);
        }
        catch (NormSharpException e)
        {
            return Fail(stderr, e, e.Message, InputError, verbose);
        }
        catch (OperationCanceledException e)
        {
            return Fail(stderr, e, "interrupted", RuntimeFailure, verbose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, e, e.Message, RuntimeFailure, verbose);
        }
        catch (Exception e)
        {
            return Fail(stderr, e, $"{e.GetType().Name}: {e.Message}", RuntimeFailure, verbose);
        }
    }

    private static int Fail(TextWriter stderr, Exception e, string message, int code, bool verbose)
    {
        // One line, so scripts can grep it; the stack only on request.
        stderr.WriteLine("error: " + message.ReplaceLineEndings(" "));
        if (verbose) stderr.WriteLine(e.ToString());
        return code;
    }
}
