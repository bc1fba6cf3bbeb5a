using System.Text.Json;
using NormSharp.Data;
using NormSharp.Experiments.Recipes;

namespace NormSharp.Experiments;

/// <summary>
/// Runs the training runs of an experiment suite, each in its own folder under <c>runs/</c>. A run whose
/// summary exists is read back instead of trained again, and a run interrupted mid-way resumes from its
/// checkpoint, so an interrupted reproduction picks up where it stopped.
/// </summary>
public sealed class ExperimentRunner
{
    private readonly string _root;
    private readonly Dictionary<string, DatasetSplit> _datasets = new();
    private readonly Func<string, DatasetSplit> _loadData;

    /// <summary>Reports each run as it starts and ends.</summary>
    public event Action<string>? Log;

    /// <summary>Creates the runner writing under <paramref name="outputDirectory"/>/runs.</summary>
    public ExperimentRunner(string outputDirectory, Func<string, DatasetSplit> loadData)
    {
        _root = Path.Combine(outputDirectory, "runs");
        _loadData = loadData;
        Directory.CreateDirectory(_root);
    }

    private readonly List<RunResult> _results = new();

    /// <summary>Every run this runner produced or read back, in order.</summary>
    public IReadOnlyList<RunResult> Results => _results;

    /// <summary>Writes one line per run (configuration and outcome) as CSV, an index to the runs' own metrics.csv files.</summary>
    public void WriteIndex(string path)
    {
        static string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var lines = new List<string> { "id,model,task,cell,norm,hidden,batch_size,optimizer,lr,epochs,seed,steps,final_train_loss,test_loss,test_accuracy,diverged,metrics" };
        foreach (var r in _results.DistinctBy(r => r.Id))
        {
            var c = r.Config;
            var s = r.Summary;
            lines.Add(string.Join(",", r.Id, Spelling.Of(c.Model), c.Model == ModelKind.Mlp ? "classify" : Spelling.Of(c.Task), c.Model == ModelKind.Rnn ? Spelling.Of(c.Cell) : "", c.Model != ModelKind.Rnn ? Spelling.Of(c.Norm) : "",
                string.Join("-", c.Hidden), c.BatchSize, Spelling.Of(c.Optimizer), F(c.LearningRate), c.Epochs, c.Seed, s.Steps, F(s.FinalTrainLoss), F(s.TestLoss), F(s.TestAccuracy),
                s.Diverged ? "true" : "false", $"runs/{r.Id}/metrics.csv"));
        }
        File.WriteAllLines(path, lines);
    }

    /// <summary>Runs started here and runs read back from an earlier reproduction.</summary>
    public int Trained { get; private set; }

    /// <summary>Runs read back from an earlier reproduction.</summary>
    public int Reused { get; private set; }

    /// <summary>The folder of run <paramref name="id"/>.</summary>
    public string RunDirectory(string id) => Path.Combine(_root, id);

    /// <summary>Runs (or reads back) <paramref name="config"/> as <paramref name="id"/>.</summary>
    public RunResult Run(string id, TrainingConfig config)
    {
        string dir = RunDirectory(id);
        string summaryPath = Path.Combine(dir, "summary.json");
        string configPath = Path.Combine(dir, "config.json");
        string configJson = JsonSerializer.Serialize(config);
        if (File.Exists(summaryPath) && File.Exists(configPath) && File.ReadAllText(configPath) == configJson)
        {
            var done = RunSummary.Read(summaryPath);
            if (done.StopReason != "interrupted")
            {
                Reused++;
                var reused = RunResult.Load(id, config, done, Path.Combine(dir, "metrics.csv"));
                _results.Add(reused);
                return reused;
            }
        }
        var data = ModelFactory.IsSynthetic(config) ? null : Data(config.Dataset, config.DataDir);
        RecipeRun trainer;
        if (File.Exists(Path.Combine(dir, NormSharp.Training.Checkpoint.FileName)) && File.Exists(configPath) && File.ReadAllText(configPath) == configJson)
        {
            Log?.Invoke($"{id}: resuming");
            trainer = RecipeRun.Resume(dir, data);
        }
        else
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            File.WriteAllText(configPath, configJson);
            trainer = new RecipeRun(config, data, dir);
        }
        Log?.Invoke($"{id}: training");
        var summary = trainer.Run();
        Trained++;
        Log?.Invoke($"{id}: done, test accuracy {summary.TestAccuracy:P1}{(summary.Diverged ? ", diverged" : "")}");
        var result = RunResult.Load(id, config, summary, Path.Combine(dir, "metrics.csv"));
        _results.Add(result);
        return result;
    }

    /// <summary>Reads a text corpus by name (set by the host; language-model runs need it).</summary>
    public Func<string, NormSharp.Data.Text.TextCorpus>? LoadText { get; init; }

    private readonly Dictionary<string, NormSharp.Data.Text.TextCorpus> _corpora = new();

    /// <summary>
    /// Runs (or reads back, or resumes) the language-model run <paramref name="config"/> as <paramref name="id"/>, on the
    /// corpus its <see cref="TrainingConfig.Dataset"/> names.
    /// </summary>
    public LanguageModelRun RunLanguageModel(string id, TrainingConfig config)
    {
        string dir = RunDirectory(id);
        string summaryPath = Path.Combine(dir, CharLmRun.SummaryFile);
        string configPath = Path.Combine(dir, "config.json");
        string configJson = JsonSerializer.Serialize(config);
        bool same = File.Exists(configPath) && File.ReadAllText(configPath) == configJson;
        if (same && File.Exists(summaryPath))
        {
            var done = LanguageModelSummary.Read(summaryPath);
            if (done.StopReason != "interrupted")
            {
                Reused++;
                var reused = LanguageModelRun.Load(id, config, done, Path.Combine(dir, "metrics.csv"));
                _results.Add(reused.Curves);
                return reused;
            }
        }
        if (!_corpora.TryGetValue(config.Dataset, out var corpus))
        {
            var load = LoadText ?? throw new InvalidOperationException("ExperimentRunner: LoadText is not set, so language-model runs have no text.");
            _corpora[config.Dataset] = corpus = load(config.Dataset);
        }
        CharLmRun run;
        if (same && File.Exists(Path.Combine(dir, NormSharp.Training.Checkpoint.FileName)))
        {
            Log?.Invoke($"{id}: resuming");
            run = CharLmRun.Resume(dir, corpus);
        }
        else
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            File.WriteAllText(configPath, configJson);
            run = new CharLmRun(config, corpus, dir);
        }
        Log?.Invoke($"{id}: training");
        var summary = run.Run();
        Trained++;
        Log?.Invoke($"{id}: done, validation {summary.ValidationBitsPerCharacter:F3} bits per character{(summary.Diverged ? ", diverged" : "")}");
        var result = LanguageModelRun.Load(id, config, summary, Path.Combine(dir, "metrics.csv"));
        _results.Add(result.Curves);
        return result;
    }

    /// <summary>The dataset <paramref name="name"/>, loaded once.</summary>
    public DatasetSplit Data(string name, string? dataDir = null)
    {
        string key = name + "|" + dataDir;
        if (!_datasets.TryGetValue(key, out var d)) _datasets[key] = d = _loadData(name);
        return d;
    }
}
