namespace NormSharp.Experiments;

/// <summary>How verdicts read in logs and reports.</summary>
public static class ReportText
{
    /// <summary>"supported", "not supported" or "inconclusive".</summary>
    public static string Verdict(Verdict verdict) => verdict switch
    {
        Experiments.Verdict.Supported => "supported",
        Experiments.Verdict.NotSupported => "not supported",
        _ => "inconclusive",
    };
}
