namespace NormSharp.Data.Text;

/// <summary>Units of language-model quality.</summary>
public static class LanguageModelMetrics
{
    /// <summary>Bits per character of a mean cross-entropy given in nats (natural log) per character.</summary>
    public static double BitsPerCharacter(double natsPerCharacter) => natsPerCharacter / Math.Log(2);
}
