namespace NormSharp.Tests.Docs;

/// <summary>The README's library example is the sample CI builds and runs, word for word.</summary>
public class ReadmeTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NormSharp.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (NormSharp.slnx) was not found above the test output");
    }

    [Fact]
    public void UsingTheLibraryShowsThePreNormSampleAsItIs()
    {
        string root = RepositoryRoot();
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        int section = readme.IndexOf("## Using the library", StringComparison.Ordinal);
        Assert.True(section >= 0, "README has no 'Using the library' section");
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        int end = readme.IndexOf("```\n", start, StringComparison.Ordinal);
        string shown = readme[start..end];
        string sample = File.ReadAllText(Path.Combine(root, "samples", "PreNormMlp", "Program.cs")).ReplaceLineEndings("\n");
        Assert.Equal(sample, shown);
    }
}
