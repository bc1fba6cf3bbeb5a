using System.Text;
using NormSharp.Data;
using NormSharp.Data.Text;
using NormSharp.Errors;

namespace NormSharp.Tests.Data.Text;

public class TextCorpusTests
{
    private static string SampleDir => Path.Combine(AppContext.BaseDirectory, "data", "text");

    [Fact]
    public void FortuneFilesSplitIntoWholeEntriesWithEveryTenthForValidation()
    {
        var corpus = FortunesCorpus.Load(SampleDir);
        var entries = FortunesCorpus.Entries(File.ReadAllText(Path.Combine(SampleDir, "sample-fortunes"))).ToList();
        Assert.Equal(31, entries.Count);
        Assert.Equal(entries.Count, corpus.EntryCount);
        Assert.Contains(entries[9] + "\n", corpus.Validation);
        Assert.Contains(entries[19] + "\n", corpus.Validation);
        Assert.DoesNotContain(entries[9], corpus.Train);
        Assert.Contains(entries[0] + "\n", corpus.Train);
        Assert.DoesNotContain("%", corpus.Train);
        // Every entry lands whole in exactly one part.
        foreach (var e in entries) Assert.True(corpus.Train.Contains(e) ^ corpus.Validation.Contains(e), e);
    }

    [Fact]
    public void IndexFilesAndLinksAreSkipped()
    {
        using var dir = new TestData.TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "b"), "two\n%\nthree\n%\n");
        File.WriteAllText(Path.Combine(dir.Path, "a"), "one\n%\n");
        File.WriteAllBytes(Path.Combine(dir.Path, "a.dat"), [0, 0, 0, 2, 0xFF, 0xFE, 0x80]);
        File.CreateSymbolicLink(Path.Combine(dir.Path, "a.u8"), "a");
        var corpus = FortunesCorpus.Load(dir.Path);
        Assert.Equal(3, corpus.EntryCount);
        // Files in name order (a before b); with fewer than ten entries the last one is for validation.
        Assert.Equal("one\ntwo\n", corpus.Train);
        Assert.Equal("three\n", corpus.Validation);
    }

    [Fact]
    public void AMissingFolderSaysHowToInstallTheCorpus()
    {
        var e = Assert.Throws<DataUnavailableException>(() => FortunesCorpus.Load("/nonexistent/fortunes"));
        Assert.Contains("apt-get install fortunes", e.Message);
    }

    [Fact]
    public void BadTextFilesAreNamedWithTheProblem()
    {
        using var dir = new TestData.TempDir();
        string empty = Path.Combine(dir.Path, "empty.txt");
        File.WriteAllText(empty, "  \n\n ");
        Assert.Contains("no text", Assert.Throws<CorruptFileException>(() => TextCorpus.FromFile(empty)).Message);

        string latin1 = Path.Combine(dir.Path, "latin1.txt");
        File.WriteAllBytes(latin1, [(byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)'\n']);
        var e = Assert.Throws<CorruptFileException>(() => TextCorpus.FromFile(latin1));
        Assert.Contains("UTF-8", e.Message);
        Assert.Contains("offset 3", e.Message);
        Assert.Contains("latin1.txt", e.Message);

        Assert.Contains("does not exist", Assert.Throws<CorruptFileException>(() => TextCorpus.FromFile(Path.Combine(dir.Path, "missing.txt"))).Message);

        string tiny = Path.Combine(dir.Path, "tiny.txt");
        File.WriteAllText(tiny, "ab\n\ncd\n");
        var corpus = TextCorpus.FromFile(tiny);
        var c = Assert.Throws<InvalidValueException>(() => corpus.RequireContext(128));
        Assert.Contains("context window of 128", c.Message);
    }

    [Fact]
    public void AFileIsSplitByParagraphsOrElseByLines()
    {
        using var dir = new TestData.TempDir();
        string paragraphs = Path.Combine(dir.Path, "p.txt");
        File.WriteAllText(paragraphs, string.Join("\n\n", Enumerable.Range(0, 20).Select(i => $"paragraph {i}\nsecond line {i}")));
        var p = TextCorpus.FromFile(paragraphs);
        Assert.Equal(20, p.EntryCount);
        Assert.Contains("paragraph 9\nsecond line 9\n", p.Validation);

        string lines = Path.Combine(dir.Path, "l.txt");
        File.WriteAllText(lines, string.Join("\n", Enumerable.Range(0, 20).Select(i => $"line {i}")));
        Assert.Equal(20, TextCorpus.FromFile(lines).EntryCount);
    }
}

public class CharVocabularyTests
{
    [Fact]
    public void IdsFollowCodePointOrderAndUnknownCharactersMapToZero()
    {
        var v = CharVocabulary.Build("cabé\n");
        Assert.Equal(6, v.Size);
        Assert.Equal([2, 3, 4, 5, 1], v.Encode("abcé\n"));
        Assert.Equal([CharVocabulary.UnknownId, 2], v.Encode("za"));
        Assert.Equal("abcé\n", v.Decode(v.Encode("abcé\n")));
        Assert.Equal("\uFFFD", v.Decode(CharVocabulary.UnknownId));
        Assert.Equal([new Rune('z'), new Rune('q')], v.UnknownCharacters("zaqz"));
    }

    [Fact]
    public void CharactersBeyondTheBasicPlaneAreOneCharacter()
    {
        var v = CharVocabulary.Build("a😀b");
        Assert.Equal(4, v.Size);
        Assert.Equal(3, v.Encode("a😀b").Length);
        Assert.Equal("😀", v.Decode(v.Encode("😀")));
    }

    [Fact]
    public void TheVocabularyRoundTripsThroughJsonAndRejectsDamage()
    {
        var v = CharVocabulary.Build("hello, world");
        var back = CharVocabulary.FromJson(v.ToJson(), "vocab");
        Assert.Equal(v.Encode("hello, world"), back.Encode("hello, world"));
        Assert.Throws<CorruptFileException>(() => CharVocabulary.FromJson("{\"unknown_id\":0,\"characters\":[97,97]}", "vocab"));
        Assert.Throws<CorruptFileException>(() => CharVocabulary.FromJson("{\"unknown_id\":0,\"characters\":[55296]}", "vocab"));
        Assert.Throws<CorruptFileException>(() => CharVocabulary.FromJson("not json", "vocab"));
    }
}

public class CharSequenceLoaderTests
{
    private static int[] Tokens(int n) => Enumerable.Range(0, n).ToArray();

    [Fact]
    public void TargetsAreTheInputsShiftedByOne()
    {
        var loader = new CharSequenceLoader(Tokens(100), context: 8, batchSize: 3, seed: 1);
        Assert.True(loader.Next());
        for (int i = 0; i < loader.Count * 8; i++) Assert.Equal(loader.Inputs[i] + 1, loader.Targets[i]);
        for (int b = 0; b < loader.Count; b++)
            for (int t = 1; t < 8; t++) Assert.Equal(loader.Inputs[b * 8 + t - 1] + 1, loader.Inputs[b * 8 + t]);
    }

    [Fact]
    public void EpochsCoverDistinctWindowsAndDifferFromEachOther()
    {
        var loader = new CharSequenceLoader(Tokens(1000), context: 10, batchSize: 7, seed: 3);
        var epochs = new List<List<int>>();
        for (int e = 0; e < 2; e++)
        {
            var starts = new List<int>();
            while (loader.Next())
                for (int b = 0; b < loader.Count; b++) starts.Add(loader.Inputs[b * 10]);
            Assert.Equal(loader.WindowsPerEpoch, starts.Count);
            Assert.Equal(starts.Count, starts.Distinct().Count());
            epochs.Add(starts);
        }
        Assert.NotEqual(epochs[0], epochs[1]);
    }

    [Fact]
    public void ResumingGivesTheSameBatchesAsAnUninterruptedRun()
    {
        List<int[]> Run(CharSequenceLoader l, int batches)
        {
            var seen = new List<int[]>();
            while (seen.Count < batches)
                if (l.Next()) seen.Add(l.Inputs[..(l.Count * l.Context)]);
            return seen;
        }
        var full = Run(new CharSequenceLoader(Tokens(500), 6, 4, seed: 9), 60);
        var first = new CharSequenceLoader(Tokens(500), 6, 4, seed: 9);
        var head = Run(first, 25);
        var resumed = new CharSequenceLoader(Tokens(500), 6, 4, seed: 9);
        resumed.SetState(first.GetState());
        Assert.Equal(full, head.Concat(Run(resumed, 35)));
    }

    [Fact]
    public void ThePreviousBatchSurvivesFetchingTheNextOne()
    {
        var loader = new CharSequenceLoader(Tokens(300), 5, 2, seed: 2);
        loader.Next();
        var previous = loader.Inputs;
        int[] copy = previous[..10];
        loader.Next();
        Assert.Equal(copy, previous[..10]);
    }

    [Fact]
    public void EvaluationOrderIsConsecutiveFromTheStart()
    {
        var loader = new CharSequenceLoader(Tokens(50), 7, 3, seed: 1, shuffle: false);
        Assert.Equal(7, loader.WindowsPerEpoch);
        loader.Next();
        Assert.Equal([0, 7, 14], new[] { loader.Inputs[0], loader.Inputs[7], loader.Inputs[14] });
    }

    [Fact]
    public void TooShortATextIsRefused()
    {
        var e = Assert.Throws<InvalidValueException>(() => new CharSequenceLoader(Tokens(5), 8, 2, 1));
        Assert.Contains("fewer than one window", e.Message);
    }
}
