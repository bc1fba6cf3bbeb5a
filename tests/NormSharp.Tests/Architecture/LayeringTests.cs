using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;

namespace NormSharp.Tests.Architecture;

/// <summary>The core assembly stands alone: it knows nothing of datasets' acquisition, the experiments, the command line or processes.</summary>
public class LayeringTests
{
    private static readonly Assembly Core = typeof(NormSharp.Tensors.Tensor).Assembly;
    private static readonly Assembly Datasets = typeof(NormSharp.Datasets.DatasetCatalog).Assembly;
    private static readonly Assembly Experiments = typeof(NormSharp.Experiments.Recipes.RecipeRun).Assembly;

    [Fact]
    public void TheCoreReferencesNoneOfTheOuterAssemblies()
    {
        var names = Core.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("NormSharp.Datasets", names);
        Assert.DoesNotContain("NormSharp.Experiments", names);
        Assert.DoesNotContain("NormSharp.Cli", names);
        Assert.DoesNotContain("NormSharp.Onnx", names);
        Assert.DoesNotContain("System.Diagnostics.Process", names);
        Assert.DoesNotContain("NormSharp.Cli", Experiments.GetReferencedAssemblies().Select(a => a.Name));
        Assert.DoesNotContain("NormSharp.Experiments", Datasets.GetReferencedAssemblies().Select(a => a.Name));
    }

    [Fact]
    public void TheCoreStartsNoProcess()
    {
        var types = TypeReferences(Core);
        Assert.DoesNotContain("System.Diagnostics.Process", types);
        Assert.DoesNotContain("System.Diagnostics.ProcessStartInfo", types);
        // Where acquisition does start one, it is in the datasets assembly.
        Assert.Contains("System.Diagnostics.ProcessStartInfo", TypeReferences(Datasets));
    }

    [Theory]
    [InlineData("NormSharp")]
    [InlineData("NormSharp.Datasets")]
    [InlineData("NormSharp.Experiments")]
    public void LibraryMessagesNameNoCommandLineFlag(string assembly)
    {
        var flag = new Regex("(^|[\\s'(])--[a-z]");
        var offending = UserStrings(Assembly.Load(assembly)).Where(s => flag.IsMatch(s) && !s.StartsWith("--silent", StringComparison.Ordinal) && !s.StartsWith("--pack-destination", StringComparison.Ordinal)).ToList();
        Assert.Empty(offending);
    }

    private static HashSet<string> TypeReferences(Assembly assembly)
    {
        using var pe = new PEReader(File.OpenRead(assembly.Location));
        var md = pe.GetMetadataReader();
        return md.TypeReferences.Select(h => md.GetTypeReference(h)).Select(t => md.GetString(t.Namespace) + "." + md.GetString(t.Name)).ToHashSet();
    }

    private static List<string> UserStrings(Assembly assembly)
    {
        using var pe = new PEReader(File.OpenRead(assembly.Location));
        var md = pe.GetMetadataReader();
        var result = new List<string>();
        var handle = MetadataTokens.UserStringHandle(1);
        while (!handle.IsNil)
        {
            result.Add(md.GetUserString(handle));
            handle = md.GetNextHandle(handle);
        }
        return result;
    }
}
