namespace NormSharp.Cli.Arguments;

/// <summary>What a command handler writes to: the tool's standard output and error, and whether they are a terminal.</summary>
internal sealed record CliContext(TextWriter Out, TextWriter Error, bool Interactive, bool Verbose)
{
    /// <summary>A context that prints nothing (the other ranks of a data-parallel run: rank 0 speaks for the job).</summary>
    public CliContext Quiet() => this with { Out = TextWriter.Null, Error = TextWriter.Null, Interactive = false };
}
