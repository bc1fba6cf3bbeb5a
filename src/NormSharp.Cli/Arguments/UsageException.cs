namespace NormSharp.Cli.Arguments;

/// <summary>A command line that cannot be run as written: unknown option, missing or malformed value. Exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
