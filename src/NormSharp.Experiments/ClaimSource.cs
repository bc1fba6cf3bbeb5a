using System.Text.Json.Serialization;

namespace NormSharp.Experiments;

/// <summary>Whose claim a reproduction tests.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ClaimSource>))]
public enum ClaimSource
{
    /// <summary>A claim or comparison of Ba, Kiros &amp; Hinton, "Layer Normalization" (2016).</summary>
    [JsonStringEnumMemberName("paper")] Paper,

    /// <summary>
    /// A broader claim made about layer normalization by the article the suite started from (larger updates,
    /// vanishing or exploding gradients, a smoother loss), which the paper does not make in these words.
    /// </summary>
    [JsonStringEnumMemberName("article")] Article,

    /// <summary>A claim of a later paper about layer normalization (Transformers, RMSNorm, data-parallel batch statistics).</summary>
    [JsonStringEnumMemberName("follow-up")] FollowUp,
}

/// <summary>How reports name a <see cref="ClaimSource"/>.</summary>
public static class ClaimSources
{
    /// <summary>"paper", "article" or "follow-up".</summary>
    public static string Name(ClaimSource source) => source switch
    {
        ClaimSource.Paper => "paper",
        ClaimSource.Article => "article",
        _ => "follow-up",
    };

    /// <summary>What each source means, for the report.</summary>
    public const string Legend =
        "paper: a claim or figure of Ba, Kiros & Hinton (2016); article: a broader claim about layer normalization made by the article this suite started from, not by the paper; follow-up: a later paper's claim.";
}
