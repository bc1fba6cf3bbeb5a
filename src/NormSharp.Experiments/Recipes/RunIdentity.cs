using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NormSharp.Data;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// A recipe run's identity: a SHA-256 of its configuration and of the data it trains and is scored on. Two runs
/// with the same identity compute the same thing, wherever the data folder lies (the folder's path is not part
/// of it, its contents are), so a run folder can refuse a checkpoint of any other run, data moved elsewhere can
/// still be recognized as the run's own, and the ranks of a data-parallel job check they run the same thing.
/// Settings that may differ between ranks or resumes without changing the computation are left out: threads,
/// micro-batches, and how often checkpoints and evaluations happen.
/// </summary>
public static class RunIdentity
{
    private static readonly ConditionalWeakTable<DatasetSplit, byte[]> DataHashes = new();

    /// <summary>The identity of <paramref name="config"/> trained on <paramref name="data"/> (null for tasks that generate their data from the configuration), as 64 hex digits.</summary>
    public static string Of(TrainingConfig config, DatasetSplit? data)
    {
        using var sha = Start(config);
        sha.AppendData(data is null ? "\nno data"u8 : DataHashes.GetValue(data, HashData));
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>
    /// The identity of a language-model run: <paramref name="config"/> trained on <paramref name="corpus"/> (its
    /// training and validation texts, not the file they were read from; how many validation windows each
    /// evaluation scores is left out too), as 64 hex digits.
    /// </summary>
    public static string Of(TrainingConfig config, NormSharp.Data.Text.TextCorpus corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        using var sha = Start(config with { DataFile = null, EvalWindows = 0 });
        foreach (var text in new[] { corpus.Train, corpus.Validation })
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"\n{text.Length}\n"));
            sha.AppendData(Encoding.UTF8.GetBytes(text));
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>A hash begun with the configuration, without the settings that do not change the computation.</summary>
    private static IncrementalHash Start(TrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData("normsharp-run-identity-1\n"u8);
        var neutral = config with { DataDir = null, Threads = 1, MicroBatches = 1, CheckpointEvery = 0, EvalEvery = 0 };
        sha.AppendData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(neutral)));
        return sha;
    }

    private static byte[] HashData(DatasetSplit data)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var set in new[] { data.Train, data.Test })
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"\n{set.Count} {set.Height} {set.Width} {set.Classes}\n"));
            sha.AppendData(MemoryMarshal.AsBytes(set.Images.Span));
            sha.AppendData(MemoryMarshal.AsBytes(set.Labels.AsSpan()));
        }
        return sha.GetHashAndReset();
    }
}
