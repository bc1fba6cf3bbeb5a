// A pre-norm residual MLP of one's own on Fashion-MNIST with the general Trainer: AdamW that does not
// decay normalization gains and biases, a cosine schedule, held-out evaluation; then the weights are
// saved, loaded into a freshly built model, and both must predict the same.
using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Interop;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;
using NormSharp.Training;

string dataDir = args.Length > 0 ? args[0] : "/usr/share/datasets/fashion-mnist"; // apt-get install dataset-fashion-mnist
var data = IdxDatasetFolder.Load(dataDir, "fashion-mnist");
var train = new BatchLoader(data.Train.Take(20_000), batchSize: 128, seed: 1, standardization: (0.286f, 0.353f));

var model = new PreNormResidualMlp(inputs: 784, width: 256, blocks: 2, classes: 10, new Rng(1));
var optimizer = new AdamW(ParameterGroups.DecayWeightsOnly(model, weightDecay: 0.05), lr: 2e-3);
var trainer = new Trainer<LabeledBatch>(model, optimizer, (m, batch) =>
{
    var logits = m.Forward(Variable.Constant(batch.Inputs));
    return new StepLoss(F.CrossEntropy(logits, batch.Labels), batch.Count, Correct(logits.Value, batch.Labels), batch.Count);
})
{
    Schedule = new CosineSchedule(TotalSteps: 2 * train.BatchesPerEpoch),
    Evaluator = m => Evaluate(m, data.Test),
};
trainer.Add(new EpochPrinter());
var result = trainer.Fit(train, epochs: 2);
Console.WriteLine($"{result.Steps} steps at {result.SamplesPerSecond:F0} samples/s");

PyTorchStateDict.Save(model, "prenorm-mlp.safetensors");
var reloaded = new PreNormResidualMlp(inputs: 784, width: 256, blocks: 2, classes: 10, new Rng(12345));
PyTorchStateDict.Load(reloaded, "prenorm-mlp.safetensors", strict: true);
var (_, accuracy, predictions) = Score(model, data.Test);
var (_, reloadedAccuracy, reloadedPredictions) = Score(reloaded, data.Test);
Console.WriteLine($"test accuracy {accuracy:P2}; after saving and reloading into a fresh model {reloadedAccuracy:P2}");
bool same = predictions.SequenceEqual(reloadedPredictions);
Console.WriteLine(same ? "the reloaded model predicts exactly the same" : "the reloaded model predicts differently");
return same && accuracy > 0.80 ? 0 : 1;

static EvaluationResult Evaluate(Module model, Dataset test)
{
    var (loss, accuracy, _) = Score(model, test);
    return new EvaluationResult(loss, accuracy);
}

// Mean loss, accuracy and the predicted class of every sample, in evaluation mode without recording.
static (double Loss, double Accuracy, int[] Predictions) Score(Module model, Dataset test)
{
    model.Eval();
    var loader = new BatchLoader(test, batchSize: 500, seed: 0, shuffle: false, standardization: (0.286f, 0.353f));
    var predictions = new List<int>();
    double loss = 0;
    using (GradMode.NoGrad())
        while (loader.Next())
        {
            var labels = loader.Labels.AsSpan(0, loader.Count);
            var logits = model.Forward(Variable.Constant(loader.Batch));
            loss += F.CrossEntropy(logits, labels).Item() * loader.Count;
            for (int i = 0; i < loader.Count; i++) predictions.Add(ArgMax(logits.Value.Span.Slice(i * 10, 10)));
        }
    model.Train();
    int correct = predictions.Where((p, i) => p == test.Labels[i]).Count();
    return (loss / test.Count, (double)correct / test.Count, predictions.ToArray());
}

static int Correct(Tensor logits, ReadOnlySpan<int> labels)
{
    int correct = 0, classes = logits.Dim(1);
    for (int i = 0; i < labels.Length; i++)
        if (ArgMax(logits.Span.Slice(i * classes, classes)) == labels[i]) correct++;
    return correct;
}

static int ArgMax(ReadOnlySpan<float> row)
{
    int best = 0;
    for (int k = 1; k < row.Length; k++) if (row[k] > row[best]) best = k;
    return best;
}

/// <summary>x → Linear → [x + Linear(GELU(Linear(LayerNorm(x))))] × blocks → LayerNorm → Linear head.</summary>
sealed class PreNormResidualMlp : Module
{
    public Linear Embed { get; }
    public List<ResidualBlock> Blocks { get; } = [];
    public LayerNorm FinalNorm { get; }
    public Linear Head { get; }

    public PreNormResidualMlp(int inputs, int width, int blocks, int classes, Rng rng)
    {
        Embed = new Linear(inputs, width, rng);
        for (int i = 0; i < blocks; i++) Blocks.Add(new ResidualBlock(width, rng));
        FinalNorm = new LayerNorm(width);
        Head = new Linear(width, classes, rng);
    }

    public override Variable Forward(Variable x)
    {
        var h = Embed.Forward(x);
        foreach (var block in Blocks) h = block.Forward(h);
        return Head.Forward(FinalNorm.Forward(h));
    }
}

/// <summary>h + W₂·GELU(W₁·LayerNorm(h)): the normalization sits inside the residual branch (Pre-LN).</summary>
sealed class ResidualBlock(int width, Rng rng) : Module
{
    public LayerNorm Norm { get; } = new(width);
    public Linear Up { get; } = new(width, 2 * width, rng);
    public Linear Down { get; } = new(2 * width, width, rng);

    public override Variable Forward(Variable h) => h + Down.Forward(F.Gelu(Up.Forward(Norm.Forward(h))));
}

/// <summary>A trainer part that prints each epoch's training loss and held-out accuracy.</summary>
sealed class EpochPrinter : ITrainerCallback
{
    public void OnEpochEnd(EpochContext epoch) =>
        Console.WriteLine($"epoch {epoch.Epoch + 1}: train loss {epoch.MeanLoss:F4}, test accuracy {epoch.Evaluation?.Accuracy:P2}");
}
