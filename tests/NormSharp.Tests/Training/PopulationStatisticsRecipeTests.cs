using NormSharp.Data;
using NormSharp.Experiments.Recipes;
using NormSharp.Experiments.Recipes.Tasks;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;

namespace NormSharp.Tests.Training;

/// <summary>The training tasks evaluate a BN-LSTM with population statistics re-estimated on their training data.</summary>
public class PopulationStatisticsRecipeTests
{
    private static TrainingConfig BnLstm() => new()
    {
        Dataset = "synthetic",
        Model = ModelKind.Rnn,
        Cell = CellKind.BnLstm,
        Task = SequenceTask.SeqMnistRows,
        Hidden = [8],
        BatchSize = 16,
        Epochs = 8,
        LearningRate = 2e-2,
        Seed = 2,
        Threads = 2,
    };

    [Fact]
    public void EvaluationReestimatesTheStatisticsOnAllTrainingImagesWithTheFinalWeights()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path, train: 120, test: 40);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        var trainer = new RecipeRun(BnLstm(), data, null);
        var summary = trainer.Run();
        Assert.True(summary.TestAccuracy > 0.9, $"evaluation-mode test accuracy {summary.TestAccuracy}");
        var afterTraining = trainer.Model.NamedBuffers().Select(b => b.Buffer.ToArray()).ToList();

        // The same statistics from one batch of every (standardized) training image, in the stored order.
        var loader = new BatchLoader(data.Train, data.Train.Count, 0, shuffle: false, standardization: BatchLoader.Statistics(data.Train));
        Assert.True(loader.Next());
        PopulationStatistics.Reestimate(trainer.Model, [loader.Batch]);
        var direct = trainer.Model.NamedBuffers().Select(b => b.Buffer.ToArray()).ToList();
        for (int i = 0; i < direct.Count; i++)
            for (int j = 0; j < direct[i].Length; j++)
                Assert.Equal(direct[i][j], afterTraining[i][j], 1e-4 * Math.Max(1, Math.Abs(direct[i][j])));
    }

    [Fact]
    public void ATaskToldNotToReestimateScoresTheStatisticsTheModelHolds()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path, train: 60, test: 20);
        var data = IdxDatasetFolder.Load(dir.Path, "synthetic");
        var config = BnLstm();
        var task = new ImageClassificationTask(config, data) { ReestimatesPopulationStatistics = false };
        var model = task.BuildModel(config, new NormSharp.Tensors.Rng(1));
        var before = model.NamedBuffers().Select(b => b.Buffer.ToArray()).ToList();
        task.Evaluate(model);
        Assert.Equal(before, model.NamedBuffers().Select(b => b.Buffer.ToArray()).ToList());
        new ImageClassificationTask(config, data).Evaluate(model);
        Assert.NotEqual(before, model.NamedBuffers().Select(b => b.Buffer.ToArray()).ToList());
        Assert.True(model.IsTraining);
    }
}
