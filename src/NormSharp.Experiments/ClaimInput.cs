namespace NormSharp.Experiments;

/// <summary>What a claim's runs train on.</summary>
public enum ClaimInput
{
    /// <summary>The suite's image dataset (mnist-digits or Fashion-MNIST).</summary>
    Images,

    /// <summary>The language-model profile's text corpus.</summary>
    Text,

    /// <summary>Nothing: the claim measures without training (G).</summary>
    None,
}
