using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Interop;
using NormSharp.IO.Safetensors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Interop;

public class PyTorchStateDictTests
{
    private static Mlp BatchNormMlp() => new([6, 8, 8, 3], NormKind.Batch, new Rng(1));

    private static void TrainingForwards(Module model, int count)
    {
        model.Train();
        using var _ = GradMode.NoGrad();
        for (int i = 0; i < count; i++)
        {
            var x = Tensor.Zeros(4, 6);
            new Rng((ulong)i + 10).FillNormal(x.Span, 0.5f, 2f);
            model.Forward(Variable.Constant(x));
        }
    }

    [Fact]
    public void BatchNormCountsTrainingBatchesOnlyAsPyTorchDoes()
    {
        var bn = new BatchNorm1d(6);
        TrainingForwards(new Sequential(bn), 3);
        Assert.Equal(3, bn.NumBatchesTracked);
        bn.Eval();
        using (GradMode.NoGrad()) bn.Forward(Variable.Constant(Tensor.Zeros(4, 6)));
        Assert.Equal(3, bn.NumBatchesTracked);
        var untracked = new BatchNorm1d(6, trackRunningStats: false);
        using (GradMode.NoGrad()) untracked.Forward(Variable.Constant(Tensor.Full(1f, 4, 6)));
        Assert.Equal(0, untracked.NumBatchesTracked);
        Assert.Throws<InvalidValueException>(() => bn.NumBatchesTracked = -1);
    }

    [Fact]
    public void SavedStateDictHasPyTorchNamesAndAnInt64ScalarCounterPerBatchNorm()
    {
        var model = BatchNormMlp();
        TrainingForwards(model, 5);
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "pt.safetensors");
        PyTorchStateDict.Save(model, path);
        var f = SafetensorsFile.Read(path);
        Assert.Equal("pt", f.Metadata["format"]);
        var expected = model.StateDict().Select(e => e.Name).Concat(["layers.1.num_batches_tracked", "layers.4.num_batches_tracked"]).Order(StringComparer.Ordinal);
        Assert.Equal(expected, f.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        var counter = f.Entries.Single(e => e.Name == "layers.1.num_batches_tracked");
        Assert.Equal("I64", counter.DType);
        Assert.Empty(counter.Shape);
        Assert.Equal([5L], f.GetInt64("layers.1.num_batches_tracked"));
        Assert.All(f.Entries.Where(e => !e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)), e => Assert.Equal("F32", e.DType));
    }

    [Fact]
    public void APyTorchStateDictLoadsStrictlyWithItsCounters()
    {
        var source = BatchNormMlp();
        TrainingForwards(source, 7);
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "pt.safetensors");
        PyTorchStateDict.Save(source, path);
        var target = new Mlp([6, 8, 8, 3], NormKind.Batch, new Rng(2));
        var result = PyTorchStateDict.Load(target, path);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(source.StateDict().Select(e => e.Tensor.ToArray()), target.StateDict().Select(e => e.Tensor.ToArray()));
        Assert.All(target.NamedModules().Select(m => m.Module).OfType<BatchNorm1d>(), bn => Assert.Equal(7, bn.NumBatchesTracked));
    }

    [Fact]
    public void NormSharpsOwnStateDictWithoutCountersStillLoads()
    {
        var source = BatchNormMlp();
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "model.safetensors");
        SafetensorsWriter.Write(path, source.StateDict());
        var target = new Mlp([6, 8, 8, 3], NormKind.Batch, new Rng(2));
        PyTorchStateDict.Load(target, path);
        Assert.Equal(source.StateDict().Select(e => e.Tensor.ToArray()), target.StateDict().Select(e => e.Tensor.ToArray()));
    }

    [Fact]
    public void ACounterThatBelongsToNoBatchNormIsAnUnexpectedKeyAndNothingIsLoaded()
    {
        var model = new Mlp([6, 8, 3], NormKind.Layer, new Rng(1));
        var before = model.StateDict().Select(e => e.Tensor.ToArray()).ToList();
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "pt.safetensors");
        var tensors = model.StateDict().Select(e => SafetensorsTensor.FromTensor(e.Name, Tensor.Full(3f, e.Tensor.Shape))).ToList();
        tensors.Add(SafetensorsTensor.Int64("layers.1.num_batches_tracked", [4]));
        SafetensorsWriter.Write(path, tensors);
        var e = Assert.Throws<StateDictMismatchException>(() => PyTorchStateDict.Load(model, path));
        Assert.Contains("layers.1.num_batches_tracked", e.Message);
        Assert.Equal(before, model.StateDict().Select(e => e.Tensor.ToArray()));
    }

    [Fact]
    public void AShapeMismatchLeavesTheCountersAsTheyWere()
    {
        var model = BatchNormMlp();
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "pt.safetensors");
        var tensors = model.StateDict().Select(e => SafetensorsTensor.FromTensor(e.Name, e.Name == "layers.0.weight" ? Tensor.Zeros(2, 2) : e.Tensor)).ToList();
        tensors.Add(SafetensorsTensor.Int64("layers.1.num_batches_tracked", [9]));
        SafetensorsWriter.Write(path, tensors);
        Assert.Throws<StateDictMismatchException>(() => PyTorchStateDict.Load(model, path));
        Assert.All(model.NamedModules().Select(m => m.Module).OfType<BatchNorm1d>(), bn => Assert.Equal(0, bn.NumBatchesTracked));
    }

    [Theory]
    [InlineData(SafetensorsDType.BF16)]
    [InlineData(SafetensorsDType.F16)]
    public void AHalfPrecisionStateDictLoadsAsItsRoundedValues(SafetensorsDType dtype)
    {
        var source = BatchNormMlp();
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "half.safetensors");
        PyTorchStateDict.Save(source, path, dtype);
        Assert.All(SafetensorsFile.Read(path).Entries.Where(e => !e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)), e => Assert.Equal(dtype.ToString(), e.DType));
        var target = BatchNormMlp();
        PyTorchStateDict.Load(target, path);
        foreach (var ((name, s), (_, t)) in source.StateDict().Zip(target.StateDict()))
        {
            var sv = s.ToArray();
            var tv = t.ToArray();
            // Half an ulp relative (8 and 11 significant bits); F16 subnormals below 2^-14 are spaced 2^-24 apart.
            float relative = dtype == SafetensorsDType.BF16 ? MathF.ScaleB(1f, -8) : MathF.ScaleB(1f, -11);
            float absolute = dtype == SafetensorsDType.BF16 ? 0f : MathF.ScaleB(1f, -25);
            for (int i = 0; i < sv.Length; i++)
                Assert.True(Math.Abs(sv[i] - tv[i]) <= relative * Math.Abs(sv[i]) + absolute, $"{name}[{i}]: {sv[i]} stored as {dtype} read back as {tv[i]}");
        }
    }
}
