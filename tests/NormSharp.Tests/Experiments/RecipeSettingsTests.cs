using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.Experiments.Recipes;
using NormSharp.Experiments.Recipes.Tasks;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Tensors;

namespace NormSharp.Tests.Experiments;

/// <summary>The recipe settings the reproduction's designs rely on: matched starts, weight normalization, initialization, cheap held-out checks.</summary>
public class RecipeSettingsTests
{
    private static TrainingConfig Rnn(CellKind cell, bool matched) => new()
    {
        Model = ModelKind.Rnn, Cell = cell, Task = SequenceTask.SeqMnistRows, Hidden = [6], MatchedRecurrentInit = matched, Seed = 3,
    };

    private static Dictionary<string, float[]> Weights(Module m) => m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Value.ToArray());

    [Fact]
    public void AMatchedLstmStartsFromTheLnLstmsWeightsAndBias()
    {
        var lstm = Weights(ModelFactory.BuildModel(Rnn(CellKind.Lstm, matched: true), 5, 4, 3, new Rng(3)));
        var ln = Weights(ModelFactory.BuildModel(Rnn(CellKind.LnLstm, matched: true), 5, 4, 3, new Rng(3)));
        var bn = Weights(ModelFactory.BuildModel(Rnn(CellKind.BnLstm, matched: true), 5, 4, 3, new Rng(3)));
        foreach (var name in new[] { "rnn.cells.0.weight_ih", "rnn.cells.0.weight_hh", "head.weight", "head.bias" })
        {
            Assert.Equal(ln[name], lstm[name]);
            Assert.Equal(ln[name], bn[name]);
        }
        Assert.Equal(ln["rnn.cells.0.bias"], lstm["rnn.cells.0.bias_ih"]);
        Assert.All(lstm["rnn.cells.0.bias_hh"], v => Assert.Equal(0f, v));
        // The forget gate's block starts at 1, the rest at 0, as in the LN-LSTM.
        Assert.Equal(Enumerable.Repeat(0f, 6).Concat(Enumerable.Repeat(1f, 6)).Concat(Enumerable.Repeat(0f, 12)), lstm["rnn.cells.0.bias_ih"]);

        // Unmatched, PyTorch's LSTM draws its own biases and then a different head.
        var plain = Weights(ModelFactory.BuildModel(Rnn(CellKind.Lstm, matched: false), 5, 4, 3, new Rng(3)));
        Assert.Equal(ln["rnn.cells.0.weight_hh"], plain["rnn.cells.0.weight_hh"]);
        Assert.NotEqual(ln["head.weight"], plain["head.weight"]);
        Assert.Contains(plain["rnn.cells.0.bias_hh"], v => v != 0f);
    }

    [Fact]
    public void MatchedStartsApplyToTheAddingProblemAndAreRefusedElsewhere()
    {
        var config = new TrainingConfig { Model = ModelKind.Rnn, Task = SequenceTask.Adding, SequenceLength = 5, Hidden = [4], TrainLimit = 8, MatchedRecurrentInit = true };
        var lstm = Weights(new AddingTask(config with { Cell = CellKind.Lstm }).BuildModel(config with { Cell = CellKind.Lstm }, new Rng(2)));
        var ln = Weights(new AddingTask(config with { Cell = CellKind.LnLstm }).BuildModel(config with { Cell = CellKind.LnLstm }, new Rng(2)));
        Assert.Equal(ln["head.weight"], lstm["head.weight"]);
        Assert.Equal(ln["rnn.cells.0.weight_ih"], lstm["rnn.cells.0.weight_ih"]);
        Assert.Throws<InvalidValueException>(() => ModelFactory.Validate(new TrainingConfig { Model = ModelKind.Mlp, MatchedRecurrentInit = true }));
        Assert.Throws<InvalidValueException>(() => ModelFactory.Validate(Rnn(CellKind.Gru, matched: true)));
        Assert.Throws<InvalidValueException>(() => ModelFactory.Validate(Rnn(CellKind.Lstm, false) with { Init = InitScheme.KaimingNormal }));
    }

    [Fact]
    public void AWeightNormalizedMlpStartsAsThePlainOneAndNamesItsParametersLikePyTorch()
    {
        var plain = new Mlp([6, 5, 4, 3], NormKind.None, new Rng(9));
        var weightNorm = new Mlp([6, 5, 4, 3], NormKind.Weight, new Rng(9));
        Assert.Equal(["layers.0.bias", "layers.0.weight_g", "layers.0.weight_v", "layers.2.bias", "layers.2.weight_g", "layers.2.weight_v", "layers.4.weight", "layers.4.bias"],
            weightNorm.NamedParameters().Select(p => p.Name));
        var x = Tensor.Zeros(2, 6);
        new Rng(4).FillNormal(x.Span, 0, 1);
        using var _ = GradMode.NoGrad();
        var a = plain.Forward(Variable.Constant(x)).Value.ToArray();
        var b = weightNorm.Forward(Variable.Constant(x)).Value.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-5f);
        Assert.Equal("weight", NormKinds.Name(NormKind.Weight));
        Assert.Equal(NormKind.Weight, NormKinds.Parse("weight"));
    }

    [Fact]
    public void HeInitializationReachesTheDenseLayersOfAnMlp()
    {
        var config = new TrainingConfig { Hidden = [400, 400], Norm = NormKind.None, Init = InitScheme.KaimingNormal };
        var model = (Mlp)ModelFactory.BuildModel(config, 28, 28, 10, new Rng(1));
        var w = ((Linear)model.Layers.Layers[2]).Weight.Value.ToArray();
        double variance = w.Sum(v => (double)v * v) / w.Length;
        Assert.Equal(2.0 / 400, variance, 0.1 * 2.0 / 400);
        Assert.All(((Linear)model.Layers.Layers[2]).Bias!.Value.ToArray(), v => Assert.Equal(0f, v));
        // The default stays PyTorch's and is not written into a run's configuration, so older runs keep their identity.
        Assert.DoesNotContain("\"init\"", System.Text.Json.JsonSerializer.Serialize(new TrainingConfig()));
        Assert.Contains("\"init\":\"kaiming-normal\"", System.Text.Json.JsonSerializer.Serialize(config));
    }

    [Fact]
    public void ALimitedEvaluationScoresTheFirstHeldOutSamplesOnly()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path, train: 64, test: 40);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        var config = new TrainingConfig { Hidden = [8], BatchSize = 16, EvalLimit = 10 };
        var task = new ImageClassificationTask(config, data);
        var model = task.BuildModel(config, new Rng(1));
        var firstTen = new ImageClassificationTask(config, new DatasetSplit(data.Train, data.Test.Take(10)));
        Assert.Equal(firstTen.Evaluate(model), task.Evaluate(model, 10));
        Assert.Equal(task.Evaluate(model), task.Evaluate(model, 0));
        Assert.Equal(task.Evaluate(model), task.Evaluate(model, 1000));
    }
}
