using NormSharp.Autograd;
using NormSharp.Interop;
using NormSharp.IO.Safetensors;
using NormSharp.Layers;
using NormSharp.Tensors;
using Xunit.Abstractions;

namespace NormSharp.Tests.Interop;

/// <summary>
/// PyTorch weights in: each case of the folder named by NORMSHARP_INTEROP_DIR (default: the project's copy,
/// tests/golden/interop) is a PyTorch module's state dict with an input and the module's output. The case's
/// <c>module</c> metadata is rebuilt as the equivalent NormSharp model, the state dict is loaded strictly, and
/// the output must match within 1e-4 + 1e-4·|expected|.
/// </summary>
public class InteropTests(ITestOutputHelper output)
{
    /// <summary>
    /// PyTorch module kinds with no NormSharp equivalent yet. Cases of these kinds are listed, not run; adding
    /// support means removing the kind here (the builder must reject every kind listed). Every kind of the
    /// project's interop cases is supported today.
    /// </summary>
    public static readonly string[] NotYetSupportedKinds = [];

    public static string Directory =>
        Environment.GetEnvironmentVariable("NORMSHARP_INTEROP_DIR") is { Length: > 0 } d ? d : Path.Combine(AppContext.BaseDirectory, "golden", "interop");

    private static IEnumerable<(string Case, TorchModuleSpec Spec)> Cases() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.io.safetensors").Order(StringComparer.Ordinal).Select(f =>
        {
            string name = Path.GetFileName(f)[..^".io.safetensors".Length];
            string module = SafetensorsFile.Read(f).Metadata.GetValueOrDefault("module")
                ?? throw new Xunit.Sdk.XunitException($"{name}: no 'module' in the metadata of {Path.GetFileName(f)}");
            return (name, TorchModuleSpec.Parse(module));
        });

    private static bool Supported(TorchModuleSpec spec) => !NotYetSupportedKinds.Contains(spec.Kind);

    public static TheoryData<string> SupportedCases()
    {
        var data = new TheoryData<string>();
        foreach (var (name, spec) in Cases())
            if (Supported(spec)) data.Add(name);
        return data;
    }

    [Fact]
    public void TheInteropFolderHoldsCases() => Assert.NotEmpty(Cases());

    [Theory]
    [MemberData(nameof(SupportedCases))]
    public void SupportedCaseReproducesPyTorchsOutput(string name)
    {
        var io = SafetensorsFile.Read(Path.Combine(Directory, name + ".io.safetensors"));
        var model = TorchModules.Build(TorchModuleSpec.Parse(io.Metadata["module"]));
        var result = PyTorchStateDict.Load(model, Path.Combine(Directory, name + ".safetensors"), strict: true);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        model.Eval();
        Tensor y;
        using (GradMode.NoGrad()) y = model.Forward(Variable.Constant(io.GetTensor("x"))).Value.Clone();
        double worst = Compare(name, "y", io.GetTensor("y"), y);
        if (model is NormSharp.Layers.Recurrent.RecurrentStack stack)
        {
            // Recurrent modules also return their final states, [layers·directions, B, H].
            NormSharp.Layers.Recurrent.RecurrentStackOutput states;
            using (GradMode.NoGrad()) states = stack.Run(Variable.Constant(io.GetTensor("x")));
            worst = Math.Max(worst, Compare(name, "hn", io.GetTensor("hn"), states.Hn.Value));
            if (io.Contains("cn")) worst = Math.Max(worst, Compare(name, "cn", io.GetTensor("cn"), states.Cn!.Value));
        }
        output.WriteLine($"interop {name}: max abs error {worst:E2}");
    }

    /// <summary>Asserts <paramref name="actual"/> matches PyTorch's <paramref name="expected"/> within 1e-4 + 1e-4·|expected|; returns the largest error.</summary>
    private static double Compare(string name, string what, Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)actual.Span[i] - expected.Span[i]);
            double tolerance = 1e-4 + 1e-4 * Math.Abs(expected.Span[i]);
            Assert.True(err <= tolerance, $"{name}: {what}[{i}] is {actual.Span[i]:R}, PyTorch gives {expected.Span[i]:R} (error {err:E2}, tolerance {tolerance:E2}).");
            worst = Math.Max(worst, err);
        }
        return worst;
    }

    [Theory]
    [MemberData(nameof(SupportedCases))]
    public void SavingTheLoadedModelGivesBackPyTorchsKeysShapesTypesAndValues(string name)
    {
        var io = SafetensorsFile.Read(Path.Combine(Directory, name + ".io.safetensors"));
        var model = TorchModules.Build(TorchModuleSpec.Parse(io.Metadata["module"]));
        var original = SafetensorsFile.Read(Path.Combine(Directory, name + ".safetensors"));
        PyTorchStateDict.Load(model, original);
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "saved.safetensors");
        PyTorchStateDict.Save(model, path);
        var saved = SafetensorsFile.Read(path);
        static IEnumerable<string> Describe(SafetensorsFile f) =>
            f.Entries.Select(e => $"{e.Name} {e.DType} {e.ShapeText}").Order(StringComparer.Ordinal);
        Assert.Equal(Describe(original), Describe(saved));
        foreach (var e in original.Entries)
            Assert.Equal(original.GetTensor(e.Name).ToArray(), saved.GetTensor(e.Name).ToArray());
    }

    [Fact]
    public void EveryCaseIsRunOrOfAKindListedAsNotYetSupported()
    {
        var skipped = new List<string>();
        foreach (var (name, spec) in Cases())
        {
            if (Supported(spec))
            {
                TorchModules.Build(spec); // runs in SupportedCaseReproducesPyTorchsOutput
                continue;
            }
            var e = Assert.Throws<NotSupportedException>(() => TorchModules.Build(spec));
            Assert.Contains(spec.Kind, e.Message);
            skipped.Add($"{name} ({spec.Kind})");
        }
        output.WriteLine("not yet supported: " + (skipped.Count == 0 ? "none" : string.Join(", ", skipped)));
    }

    [Theory]
    [InlineData("nn.Conv2d(3, 8, 3)")]
    [InlineData("nn.RNN(12, 16, nonlinearity='relu')")]
    [InlineData("nn.LSTM(12, 16, proj_size=8)")]
    public void AModuleWithNoNormSharpEquivalentIsRejectedByTheBuilderNamingIt(string module)
    {
        var spec = TorchModuleSpec.Parse(module);
        var e = Assert.Throws<NotSupportedException>(() => TorchModules.Build(spec));
        Assert.Contains(spec.Kind, e.Message);
    }

    [Fact]
    public void EveryInteropCaseRuns() => Assert.All(Cases(), c => Assert.True(Supported(c.Spec), c.Case));

    [Theory]
    [InlineData("lstm_2layer")]
    [InlineData("lstm_bidirectional")]
    [InlineData("gru")]
    public void TheRecurrentCasesRun(string name) => Assert.Contains(Cases(), c => c.Case == name && Supported(c.Spec));

    [Fact]
    public void TheTransformerEncoderLayerCaseRunsInPyTorchsSequenceFirstLayout()
    {
        // The case is the one whose state dict uses nn.TransformerEncoderLayer's names; it must be among the run cases.
        Assert.Contains(Cases(), c => c.Spec.Kind == "nn.TransformerEncoderLayer" && !c.Spec.Bool(-1, "batch_first", true) && Supported(c.Spec));
    }

    [Fact]
    public void ModuleSpecsParseNestedCallsKeywordsAndTrailingText()
    {
        var spec = TorchModuleSpec.Parse("nn.TransformerEncoderLayer(d_model=16, nhead=4, dropout=0.0, activation='relu', batch_first=False), eval mode");
        Assert.Equal("nn.TransformerEncoderLayer", spec.Kind);
        Assert.Equal(16, spec.Int(-1, "d_model"));
        Assert.Equal("relu", spec.String(-1, "activation"));
        Assert.False(spec.Bool(-1, "batch_first", true));
        var seq = TorchModuleSpec.Parse("nn.Sequential(nn.Linear(12,32), nn.LayerNorm(32, eps=1e-6), nn.ReLU())");
        Assert.Equal(["nn.Linear", "nn.LayerNorm", "nn.ReLU"], seq.Args.Cast<TorchModuleSpec>().Select(s => s.Kind));
        Assert.Equal(1e-6, ((TorchModuleSpec)seq.Args[1]!).Number(-1, "eps", 0));
    }
}
