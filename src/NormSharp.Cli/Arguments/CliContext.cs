namespace NormSharp.Cli.Arguments;

/// <summary>What a command handler writes to: the tool's standard output and error, and whether they are a terminal.</summary>
internal sealed record CliContext(TextWriter Out, TextWriter Error, bool Interactive, bool Verbose);
