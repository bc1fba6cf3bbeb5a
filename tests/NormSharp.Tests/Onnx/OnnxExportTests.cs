using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Onnx;
using NormSharp.Tensors;
using Xunit.Abstractions;

namespace NormSharp.Tests.Onnx;

/// <summary>Every exportable model kind round-trips through ONNX Runtime and matches NormSharp within 1e-5 + 1e-5·|expected|.</summary>
public class OnnxExportTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> CasesAndOpsets()
    {
        var data = new TheoryData<string, int>();
        foreach (var (name, c) in ExportCases.All)
        {
            if (c.OpsetSensitive)
                for (int opset = OnnxExportOptions.MinOpset; opset <= OnnxExportOptions.MaxOpset; opset++) data.Add(name, opset);
            else
            {
                data.Add(name, OnnxExportOptions.MinOpset);
                data.Add(name, OnnxExportOptions.MaxOpset);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CasesAndOpsets))]
    public void ExportedModelMatchesNormSharpInOnnxRuntime(string name, int opset)
    {
        var c = ExportCases.All[name];
        var model = c.Build();
        using var ort = OrtComparison.Export(model, new OnnxExportOptions { Opset = opset, InputShape = c.ExportShape });
        model.Eval();
        double maxError = 0, maxRatio = 0;
        ulong seed = 1;
        foreach (var shape in c.Inputs)
        {
            var (error, ratio) = ort.Check(model, c.Input(shape, seed++), $"{name} (opset {opset}) at input [{string.Join(", ", shape)}]");
            maxError = Math.Max(maxError, error);
            maxRatio = Math.Max(maxRatio, ratio);
        }
        output.WriteLine($"onnx-error {name} opset={opset} max_abs={maxError:E2} max_over_tolerance={maxRatio:F3}");
    }

    [Fact]
    public void CenteringKeepsLayerNormalizationExactAtALargeMeanWhereTheBareOperatorDrifts()
    {
        // ONNX Runtime's LayerNormalization keeps its mean in float32; at mean 10,000 and spread 1.5 its rounding
        // alone (ulp(10,000)/2 ≈ 5e-4, divided by the spread) is far beyond 1e-5. Centering first removes it.
        var model = new Sequential(new LayerNorm(64));
        model.Eval();
        var input = ExportCases.Input([4, 64], 3, 10_000f);
        using (var centered = OrtComparison.Export(model))
            centered.Check(model, input, "centered LayerNormalization at mean 10,000");
        using var bare = OrtComparison.Export(model, new OnnxExportOptions { CenterLayerNormInputs = false });
        var error = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => bare.Check(model, input, "bare LayerNormalization at mean 10,000"));
        output.WriteLine(error.Message);
        Assert.Single(OnnxExport.ToModel(model, new OnnxExportOptions { CenterLayerNormInputs = false }).Graph.Node, n => n.OpType != "Identity");
    }

    [Fact]
    public void TheBatchDimensionIsDynamicAndNamed()
    {
        var model = new Mlp([12, 8, 3], NormKind.Layer, new Rng(1));
        var proto = OnnxExport.ToModel(model);
        var dims = proto.Graph.Input.Single().Type.TensorType.Shape.Dim;
        Assert.Equal("batch", dims[0].DimParam);
        Assert.Equal(12, dims[1].DimValue);
        Assert.Equal("batch", proto.Graph.Output.Single().Type.TensorType.Shape.Dim[0].DimParam);
        using var ort = new OrtComparison(OnnxExport.ToBytes(model));
        Assert.Equal([-1, 12], ort.Input.Dimensions);
    }

    [Fact]
    public void LayerNormBecomesLayerNormalizationAtOpset17()
    {
        var proto = OnnxExport.ToModel(new Mlp([12, 8, 3], NormKind.Layer, new Rng(1)));
        Assert.Equal(17, proto.OpsetImport.Single().Version);
        Assert.Contains(proto.Graph.Node, n => n.OpType == "LayerNormalization" && n.Name == "layers.1/LayerNormalization");
        Assert.Contains(proto.Graph.Initializer, t => t.Name == "layers.1.weight");
    }

    [Theory]
    [InlineData(22, false)]
    [InlineData(23, true)]
    public void RmsNormUsesTheRmsNormalizationOperatorFromOpset23(int opset, bool dedicated)
    {
        var proto = OnnxExport.ToModel(new Mlp([12, 8, 3], NormKind.Rms, new Rng(1)), new OnnxExportOptions { Opset = opset });
        Assert.Equal(dedicated, proto.Graph.Node.Any(n => n.OpType == "RMSNormalization"));
    }

    [Fact]
    public void PlainRecurrentCellsBecomeOnnxRecurrentOperatorsWithPyTorchGruSemantics()
    {
        var nodes = OnnxExport.ToModel(new RecurrentLayer(CellKind.Gru, 5, 7, new Rng(1), layers: 2)).Graph.Node;
        var grus = nodes.Where(n => n.OpType == "GRU").ToList();
        Assert.Equal(2, grus.Count);
        Assert.All(grus, n => Assert.Equal(1, n.Attribute.Single(a => a.Name == "linear_before_reset").I));
        Assert.Single(OnnxExport.ToModel(new RecurrentLayer(CellKind.Lstm, 5, 7, new Rng(1))).Graph.Node, n => n.OpType == "LSTM");
    }

    [Fact]
    public void ExportingLeavesTheModelsModeAndComputesItsEvaluationFunction()
    {
        var model = new Mlp([12, 16, 4], NormKind.Batch, new Rng(3), dropout: 0.5f);
        model.Train();
        using (GradMode.NoGrad()) model.Forward(Variable.Constant(ExportCases.Input([8, 12], 5)));
        using var ort = OrtComparison.Export(model);
        Assert.True(model.IsTraining);
        model.Eval();
        ort.Check(model, ExportCases.Input([4, 12], 6), "training-mode model");
    }

    [Fact]
    public void SaveWritesAFileOnnxRuntimeLoads()
    {
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "nested", "model.onnx");
        var model = new Mlp([12, 8, 3], NormKind.Layer, new Rng(1));
        OnnxExport.Save(model, path);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
        using var ort = new OrtComparison(File.ReadAllBytes(path));
        model.Eval();
        ort.Check(model, ExportCases.Input([2, 12], 1), "saved model");
    }

    private sealed class Custom : Module
    {
        public Linear Inner { get; } = new(4, 4, new Rng(1));

        public override Variable Forward(Variable input) => Inner.Forward(input);
    }

    [Fact]
    public void AModuleWithoutAnOnnxFormIsNamedByItsPath()
    {
        var model = new Sequential(new Linear(3, 4, new Rng(1)), new Custom());
        var e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToModel(model));
        Assert.Equal("1", e.ModulePath);
        Assert.Contains("'1' (Custom)", e.Message);
    }

    [Fact]
    public void AnUnrolledCellNeedsAFixedSequenceLength()
    {
        var e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToModel(new RecurrentLayer(CellKind.LnLstm, 5, 7, new Rng(1))));
        Assert.Equal("cells.0", e.ModulePath);
        Assert.Contains("InputShape", e.Message);
    }

    [Fact]
    public void AnInputThatDoesNotFitTheFirstLayerIsRejectedWithBothShapes()
    {
        var e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToModel(new Mlp([12, 8, 3], NormKind.Layer, new Rng(1)), new OnnxExportOptions { InputShape = [-1, 10] }));
        Assert.Contains("12 input features", e.Message);
        Assert.Contains("[batch, 10]", e.Message);
    }

    [Fact]
    public void AContainerThatStartsWithAnActivationNeedsAnInputShape()
    {
        var model = new Sequential(new ReLU());
        Assert.Contains("InputShape", Assert.Throws<OnnxExportException>(() => OnnxExport.ToModel(model)).Message);
        using var ort = OrtComparison.Export(model, new OnnxExportOptions { InputShape = [-1, 5] });
        ort.Check(model, ExportCases.Input([3, 5], 1), "relu alone");
    }

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    public void UnsupportedOpsetsAreRejected(int opset) =>
        Assert.Contains("opset", Assert.Throws<InvalidValueException>(() => OnnxExport.ToModel(new Linear(2, 2, new Rng(1)), new OnnxExportOptions { Opset = opset })).Message);
}
