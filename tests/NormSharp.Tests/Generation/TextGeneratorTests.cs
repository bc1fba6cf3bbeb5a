using NormSharp.Data.Text;
using NormSharp.Errors;
using NormSharp.Generation;
using NormSharp.Layers.Transformer;
using NormSharp.Tensors;

namespace NormSharp.Tests.Generation;

/// <summary>Sampling text from a language model: reproducible, streaming, honest about unknown characters.</summary>
public class TextGeneratorTests
{
    private static (TextGenerator Generator, CharVocabulary Vocabulary) Make()
    {
        var vocabulary = CharVocabulary.Build("abc de\nfg");
        var model = new TransformerLanguageModel(new TransformerLanguageModelOptions { VocabularySize = vocabulary.Size, ContextLength = 8, DModel = 8, Layers = 1, Heads = 2, FeedForward = 8 }, new Rng(1));
        return (new TextGenerator(model, vocabulary), vocabulary);
    }

    [Fact]
    public void TheSameSeedGivesTheSameTextAndAnotherSeedOtherText()
    {
        var (g, _) = Make();
        string a = string.Concat(g.Generate("ab", 40, 1f, seed: 7));
        Assert.Equal(a, string.Concat(g.Generate("ab", 40, 1f, seed: 7)));
        Assert.NotEqual(a, string.Concat(g.Generate("ab", 40, 1f, seed: 8)));
        Assert.Equal(40, a.Length);
        // Longer than the context: the window slides.
        Assert.DoesNotContain('\uFFFD', a);
    }

    [Fact]
    public void TemperatureZeroTakesTheMostLikelyCharacterWhateverTheSeed()
    {
        var (g, _) = Make();
        Assert.Equal(string.Concat(g.Generate("ab", 12, 0f, seed: 1)), string.Concat(g.Generate("ab", 12, 0f, seed: 2)));
    }

    [Fact]
    public void CharactersAreYieldedOneAtATime()
    {
        var (g, _) = Make();
        using var e = g.Generate("a", 1000, 1f, 3).GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.Single(e.Current);
    }

    [Fact]
    public void UnknownPromptCharactersAreRejectedByNameOrMappedOnRequest()
    {
        var (g, v) = Make();
        var error = Assert.Throws<InvalidValueException>(() => g.EncodePrompt("abz!"));
        Assert.Contains("'z' (U+007A)", error.Message);
        Assert.Contains("'!' (U+0021)", error.Message);
        Assert.Equal([v.IdOf(new System.Text.Rune('a')), CharVocabulary.UnknownId], g.EncodePrompt("az", UnknownCharacterPolicy.MapToUnknown));
        Assert.Equal(5, string.Concat(g.Generate("az", 5, 1f, 1, UnknownCharacterPolicy.MapToUnknown)).Length);
    }

    [Fact]
    public void AnEmptyPromptStartsAfterALineBreak()
    {
        var (g, v) = Make();
        Assert.Equal([v.IdOf(new System.Text.Rune('\n'))], g.EncodePrompt(""));
    }

    [Fact]
    public void AModelOfAnotherVocabularyIsRefused()
    {
        var model = new TransformerLanguageModel(new TransformerLanguageModelOptions { VocabularySize = 4, ContextLength = 8, DModel = 8, Layers = 1, Heads = 2, FeedForward = 8 }, new Rng(1));
        Assert.Throws<InvalidValueException>(() => new TextGenerator(model, CharVocabulary.Build("abcdef")));
    }

    [Fact]
    public void NonFiniteLogitsAreReportedNotSampled()
    {
        var e = Assert.Throws<NormSharpException>(() => TextGenerator.Pick([0f, 1f, float.NaN], 1f, new Rng(1)));
        Assert.Contains("not finite", e.Message);
    }
}
