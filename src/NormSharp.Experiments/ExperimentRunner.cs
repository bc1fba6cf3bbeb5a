using System.Globalization;
using System.Text.Json;
using NormSharp.Data;
using NormSharp.Experiments.Recipes;
using NormSharp.Training;

namespace NormSharp.Experiments;

/// <summary>
/// Runs the training runs of an experiment suite, each in its own folder under <c>runs/</c>. A run whose
/// summary exists is read back instead of trained again, and a run interrupted mid-way resumes from its
/// checkpoint, so an interrupted reproduction picks up where it stopped. A run that fails (an error, or numbers
/// that are not numbers) is recorded as failed with its reason and the suite goes on; a diverged run is a
/// result like any other (see <see cref="FailedRuns"/> for how each counts in a verdict). Cancellation stops
/// the current run at a checkpoint and ends the suite with an <see cref="OperationCanceledException"/>.
/// A run that finished keeps its summary, metrics and model but not its checkpoints, which only a resume needs
/// (a quick reproduction's hundreds of runs would otherwise leave gigabytes of them); a diverged or failed run
/// keeps them for inspection.
/// </summary>
public sealed class ExperimentRunner
{
    private readonly string _root;
    private readonly Dictionary<string, DatasetSplit> _datasets = new();
    private readonly Func<string, DatasetSplit> _loadData;
    private readonly CancellationToken _cancel;

    /// <summary>Reports each run as it starts and ends.</summary>
    public event Action<string>? Log;

    /// <summary>Creates the runner writing under <paramref name="outputDirectory"/>/runs; <paramref name="cancel"/> interrupts it.</summary>
    public ExperimentRunner(string outputDirectory, Func<string, DatasetSplit> loadData, CancellationToken cancel = default)
    {
        _root = Path.Combine(outputDirectory, "runs");
        _loadData = loadData;
        _cancel = cancel;
        Directory.CreateDirectory(_root);
    }

    private readonly List<RunResult> _results = new();

    /// <summary>Every run this runner produced or read back, in order.</summary>
    public IReadOnlyList<RunResult> Results => _results;

    /// <summary>The runs that failed (errors or bad numbers), in order.</summary>
    public IReadOnlyList<RunResult> Failures => _results.Where(r => r.Failure is not null).DistinctBy(r => r.Id).ToList();

    /// <summary>Writes one line per run (configuration and outcome) as CSV, an index to the runs' own metrics.csv files.</summary>
    public void WriteIndex(string path)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string Quote(string? s) => s is null ? "" : "\"" + s.Replace("\"", "\"\"") + "\"";
        var lines = new List<string> { "id,model,task,cell,norm,hidden,batch_size,optimizer,lr,epochs,seed,steps,final_train_loss,test_loss,test_accuracy,samples_per_second,diverged,status,reason,metrics" };
        foreach (var r in _results.DistinctBy(r => r.Id))
        {
            var c = r.Config;
            var s = r.Summary;
            lines.Add(string.Join(",", r.Id, Spelling.Of(c.Model), c.Model == ModelKind.Mlp ? "classify" : Spelling.Of(c.Task), c.Model == ModelKind.Rnn ? Spelling.Of(c.Cell) : "", c.Model != ModelKind.Rnn ? Spelling.Of(c.Norm) : "",
                string.Join("-", c.Hidden), c.BatchSize, Spelling.Of(c.Optimizer), F(c.LearningRate), c.Epochs, c.Seed, s.Steps, F(s.FinalTrainLoss), F(s.TestLoss), F(s.TestAccuracy), F(s.SamplesPerSecond),
                s.Diverged ? "true" : "false", r.Outcome, Quote(r.Failure ?? s.StopReason), $"runs/{r.Id}/metrics.csv"));
        }
        File.WriteAllLines(path, lines);
    }

    /// <summary>Runs started here and runs read back from an earlier reproduction.</summary>
    public int Trained { get; private set; }

    /// <summary>Runs read back from an earlier reproduction.</summary>
    public int Reused { get; private set; }

    /// <summary>The folder of run <paramref name="id"/>.</summary>
    public string RunDirectory(string id) => Path.Combine(_root, id);

    private readonly Dictionary<string, (string Config, RunResult Result)> _done = new();

    /// <summary>
    /// Runs (or reads back) <paramref name="config"/> as <paramref name="id"/>; a failure is recorded in the result, not
    /// thrown (except cancellation). A run already produced by this runner with the same configuration is returned as
    /// it is (a failed one too: one reproduction judges every claim on the same evidence), so claims that share runs ask
    /// for them by id; the run appears in <see cref="Results"/> once per request.
    /// </summary>
    public RunResult Run(string id, TrainingConfig config)
    {
        _cancel.ThrowIfCancellationRequested();
        string key = JsonSerializer.Serialize(RecipeRun.Normalize(config));
        if (_done.TryGetValue(id, out var done) && done.Config == key)
        {
            _results.Add(done.Result);
            return done.Result;
        }
        var result = RunOnce(id, config);
        _done[id] = (key, result);
        return result;
    }

    private RunResult RunOnce(string id, TrainingConfig config)
    {
        string dir = RunDirectory(id);
        string metrics = Path.Combine(dir, "metrics.csv");
        RunResult result;
        try
        {
            bool sameRun = IsSameRun(dir, config);
            string summaryPath = Path.Combine(dir, "summary.json");
            if (sameRun && TryReadSummary(summaryPath) is { Status: RunSummary.Finished or RunSummary.DivergedStatus } done)
            {
                Reused++;
                result = RunResult.Load(id, config, done, metrics);
                _results.Add(result);
                return result;
            }
            var data = ModelFactory.IsSynthetic(config) ? null : Data(config.Dataset, config.DataDir);
            RecipeRun trainer;
            if (sameRun && CheckpointManager.List(dir).Count > 0)
            {
                Log?.Invoke($"{id}: resuming");
                trainer = RecipeRun.Resume(dir, data, log: s => Log?.Invoke($"{id}: {s}"));
            }
            else
            {
                // Another configuration's leftovers (or an older layout): this run's folder starts empty.
                if (!sameRun && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                trainer = new RecipeRun(config, data, dir);
            }
            Log?.Invoke($"{id}: training");
            var summary = trainer.Run(_cancel);
            Trained++;
            if (summary.Status == RunSummary.Interrupted) throw new OperationCanceledException($"{id}: interrupted (its checkpoint is kept; run the reproduction again to resume)", _cancel);
            if (summary.Status == RunSummary.Finished) DeleteCheckpoints(dir);
            result = RunResult.Load(id, config, summary, metrics);
            Log?.Invoke(result.Failure is { } bad ? $"{id}: FAILED, {bad}" : $"{id}: done, test accuracy {summary.TestAccuracy:P1}{(summary.Diverged ? $", diverged ({summary.StopReason})" : "")}");
        }
        catch (Exception e) when (e is not OperationCanceledException && !_cancel.IsCancellationRequested)
        {
            Trained++;
            result = RunResult.Failed(id, config, $"{e.GetType().Name}: {e.Message}", metrics);
            Log?.Invoke($"{id}: FAILED, {result.Failure}");
        }
        _results.Add(result);
        return result;
    }

    private static void DeleteCheckpoints(string dir)
    {
        foreach (var checkpoint in CheckpointManager.List(dir)) File.Delete(checkpoint.Path);
    }

    private static RunSummary? TryReadSummary(string path)
    {
        try
        {
            return File.Exists(path) ? RunSummary.Read(path) : null;
        }
        catch (Exception e) when (e is JsonException or NormSharp.Errors.CorruptFileException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="dir"/> holds a run of <paramref name="config"/>: the same settings, whatever thread
    /// count either used (the kernels give the same bits on any number of threads).
    /// </summary>
    private static bool IsSameRun(string dir, TrainingConfig config) =>
        StoredConfig(dir) is { } stored && stored == JsonSerializer.Serialize(RecipeRun.Normalize(config) with { Threads = 1 });

    private static string? StoredConfig(string dir)
    {
        try
        {
            return RunManifest.Read(dir) is { } m ? JsonSerializer.Serialize(m.Config with { Threads = 1 }) : null;
        }
        catch (NormSharp.Errors.CorruptFileException)
        {
            return null;
        }
    }

    /// <summary>Reads a text corpus by name (set by the host; language-model runs need it).</summary>
    public Func<string, NormSharp.Data.Text.TextCorpus>? LoadText { get; init; }

    private readonly Dictionary<string, NormSharp.Data.Text.TextCorpus> _corpora = new();

    /// <summary>
    /// Runs (or reads back, or resumes) the language-model run <paramref name="config"/> as <paramref name="id"/>, on the
    /// corpus its <see cref="TrainingConfig.Dataset"/> names; like <see cref="Run"/>, a failure is recorded in the
    /// result, not thrown (except cancellation).
    /// </summary>
    public LanguageModelRun RunLanguageModel(string id, TrainingConfig config)
    {
        _cancel.ThrowIfCancellationRequested();
        string dir = RunDirectory(id);
        string metrics = Path.Combine(dir, "metrics.csv");
        LanguageModelRun result;
        try
        {
            bool sameRun = IsSameRun(dir, config);
            if (sameRun && TryReadLanguageModelSummary(Path.Combine(dir, CharLmRun.SummaryFile)) is { Status: RunSummary.Finished or RunSummary.DivergedStatus } done)
            {
                Reused++;
                result = LanguageModelRun.Load(id, config, done, metrics);
                _results.Add(result.Curves);
                return result;
            }
            var corpus = Corpus(config.Dataset);
            CharLmRun run;
            if (sameRun && CheckpointManager.List(dir).Count > 0)
            {
                Log?.Invoke($"{id}: resuming");
                run = CharLmRun.Resume(dir, corpus, log: s => Log?.Invoke($"{id}: {s}"));
            }
            else
            {
                if (!sameRun && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                run = new CharLmRun(config, corpus, dir);
            }
            Log?.Invoke($"{id}: training");
            var summary = run.Run(_cancel);
            Trained++;
            if (summary.Status == RunSummary.Interrupted) throw new OperationCanceledException($"{id}: interrupted (its checkpoint is kept; run the reproduction again to resume)", _cancel);
            if (summary.Status == RunSummary.Finished) DeleteCheckpoints(dir);
            result = LanguageModelRun.Load(id, config, summary, metrics);
            Log?.Invoke(result.Curves.Failure is { } bad ? $"{id}: FAILED, {bad}" : $"{id}: done, validation {summary.ValidationBitsPerCharacter:F3} bits per character{(summary.Diverged ? $", diverged ({summary.StopReason})" : "")}");
        }
        catch (Exception e) when (e is not OperationCanceledException && !_cancel.IsCancellationRequested)
        {
            Trained++;
            result = LanguageModelRun.Failed(id, config, $"{e.GetType().Name}: {e.Message}", metrics);
            Log?.Invoke($"{id}: FAILED, {result.Curves.Failure}");
        }
        _results.Add(result.Curves);
        return result;
    }

    private NormSharp.Data.Text.TextCorpus Corpus(string name)
    {
        if (!_corpora.TryGetValue(name, out var corpus))
        {
            var load = LoadText ?? throw new InvalidOperationException("ExperimentRunner: LoadText is not set, so language-model runs have no text.");
            _corpora[name] = corpus = load(name);
        }
        return corpus;
    }

    private static LanguageModelSummary? TryReadLanguageModelSummary(string path)
    {
        try
        {
            return File.Exists(path) ? LanguageModelSummary.Read(path) : null;
        }
        catch (Exception e) when (e is JsonException or NormSharp.Errors.CorruptFileException)
        {
            return null;
        }
    }

    /// <summary>
    /// Starts a data-parallel training job (the command-line tool under <c>mpirun</c>): the training configuration
    /// file, the number of ranks and the run folder; returns the job's exit code and its error output. Null when
    /// the suite runs without one (a library caller, or no Open MPI): data-parallel claims then report that.
    /// </summary>
    public Func<string, int, string, (int ExitCode, string Error)>? DistributedLauncher { get; init; }

    /// <summary>
    /// Runs <paramref name="config"/> as <paramref name="id"/> on <paramref name="ranks"/> data-parallel ranks through
    /// <see cref="DistributedLauncher"/> (or reads it back when an earlier reproduction finished it).
    /// </summary>
    public RunResult RunDistributed(string id, TrainingConfig config, int ranks)
    {
        _cancel.ThrowIfCancellationRequested();
        if (DistributedLauncher is null) throw new InvalidOperationException("data-parallel runs need a launcher (Open MPI's mpirun)");
        string dir = RunDirectory(id);
        string metrics = Path.Combine(dir, "metrics.csv");
        string summaryPath = Path.Combine(dir, "summary.json");
        RunResult result;
        if (IsSameRun(dir, config) && TryReadSummary(summaryPath) is { Status: RunSummary.Finished or RunSummary.DivergedStatus } done)
        {
            Reused++;
            result = RunResult.Load(id, config, done, metrics);
            _results.Add(result);
            return result;
        }
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(dir))!);
        string request = dir + ".config.json";
        File.WriteAllText(request, JsonSerializer.Serialize(config));
        Log?.Invoke($"{id}: training on {ranks} ranks");
        var (code, error) = DistributedLauncher(request, ranks, dir);
        File.Delete(request);
        Trained++;
        var summary = TryReadSummary(summaryPath);
        if (code != 0 && summary is null)
        {
            string reason = $"the {ranks}-rank job failed with exit code {code}: {error.Trim().Split('\n').LastOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal)) ?? error.Trim()}";
            result = RunResult.Failed(id, config, reason, metrics);
            Log?.Invoke($"{id}: FAILED, {reason}");
        }
        else
        {
            result = summary is null ? RunResult.Failed(id, config, "the job wrote no summary", metrics) : RunResult.Load(id, config, summary, metrics);
            Log?.Invoke(result.Failure is { } bad ? $"{id}: FAILED, {bad}" : $"{id}: done, test accuracy {summary!.TestAccuracy:P1}");
        }
        _results.Add(result);
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
