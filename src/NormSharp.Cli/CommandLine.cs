namespace NormSharp.Cli;

/// <summary>Entry point shared by the executable and the tests: parses, dispatches, maps failures to exit codes.</summary>
internal static class CommandLine
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        stdout.WriteLine("normsharp: layer normalization for .NET");
        return 0;
    }
}
