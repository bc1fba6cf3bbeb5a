using NormSharp.Errors;
using NormSharp.IO.Safetensors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Interop;

/// <summary>
/// State dicts exactly as PyTorch lays them out (what <c>safetensors.torch.save_file(model.state_dict(), path)</c>
/// writes and <c>load_state_dict(..., strict=True)</c> accepts). NormSharp's parameter and buffer names already
/// follow PyTorch's; the one difference is <c>num_batches_tracked</c>, the int64 counter every PyTorch batch norm
/// with running statistics carries and NormSharp keeps in <see cref="BatchNorm1d.NumBatchesTracked"/> outside its
/// own state dict.
/// </summary>
public static class PyTorchStateDict
{
    /// <summary>The local name of PyTorch's batch-norm counter.</summary>
    public const string NumBatchesTrackedName = "num_batches_tracked";

    /// <summary>
    /// <paramref name="model"/>'s state dict with PyTorch's names and types: every parameter and buffer (stored as
    /// <paramref name="floatType"/>), then, for each <see cref="BatchNorm1d"/> with running statistics,
    /// <c>….num_batches_tracked</c> as an int64 scalar.
    /// </summary>
    public static IReadOnlyList<SafetensorsTensor> Tensors(Module model, SafetensorsDType floatType = SafetensorsDType.F32)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (floatType == SafetensorsDType.I64)
            throw new InvalidValueException(nameof(floatType), "PyTorchStateDict: parameters are floating point; choose F32, F16 or BF16.");
        var list = model.StateDict().Select(e => SafetensorsTensor.FromTensor(e.Name, e.Tensor, floatType)).ToList();
        foreach (var (path, bn) in BatchNorms(model))
            list.Add(SafetensorsTensor.Int64(Qualify(path, NumBatchesTrackedName), [bn.NumBatchesTracked]));
        return list;
    }

    /// <summary>Writes <see cref="Tensors"/> to <paramref name="path"/> with PyTorch's <c>format = pt</c> metadata (plus <paramref name="metadata"/>).</summary>
    public static void Save(Module model, string path, SafetensorsDType floatType = SafetensorsDType.F32, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };
        if (metadata is not null)
            foreach (var (k, v) in metadata) meta[k] = v;
        SafetensorsWriter.Write(path, Tensors(model, floatType), meta);
    }

    /// <summary>Reads the file at <paramref name="path"/> and loads it with <see cref="Load(Module, SafetensorsFile, bool)"/>.</summary>
    public static LoadStateDictResult Load(Module model, string path, bool strict = true) => Load(model, SafetensorsFile.Read(path), strict);

    /// <summary>
    /// Loads a PyTorch state dict into <paramref name="model"/> through <see cref="Module.LoadStateDict(IReadOnlyDictionary{string, Tensor}, bool)"/>
    /// (all or nothing; with <paramref name="strict"/> every key must match). Tensors of any floating-point type
    /// (F32, F16, BF16, F64) are converted to float32. A batch norm's <c>num_batches_tracked</c> sets
    /// <see cref="BatchNorm1d.NumBatchesTracked"/>; it may be absent (state dicts from before PyTorch 0.4.1 lack it,
    /// and PyTorch accepts them too), but one that belongs to no batch norm is an unexpected key.
    /// </summary>
    public static LoadStateDictResult Load(Module model, SafetensorsFile file, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(file);
        var counters = new Dictionary<string, BatchNorm1d>(StringComparer.Ordinal);
        foreach (var (path, bn) in BatchNorms(model)) counters[Qualify(path, NumBatchesTrackedName)] = bn;
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var counts = new List<(BatchNorm1d Module, long Count)>();
        foreach (var entry in file.Entries)
        {
            if (counters.TryGetValue(entry.Name, out var bn))
            {
                var values = file.GetInt64(entry.Name);
                if (values.Length != 1 || values[0] < 0)
                    throw new CorruptFileException(file.Source, $"'{entry.Name}' must be one non-negative integer, got {values.Length} value(s){(values.Length == 1 ? $" ({values[0]})" : "")}.");
                counts.Add((bn, values[0]));
                continue;
            }
            state[entry.Name] = file.GetTensor(entry.Name);
        }
        var result = model.LoadStateDict(state, strict);
        foreach (var (bn, count) in counts) bn.NumBatchesTracked = count;
        return result;
    }

    /// <summary>Every batch norm with running statistics under each name it is reachable by (PyTorch lists a shared module under every name).</summary>
    private static IEnumerable<(string Path, BatchNorm1d Module)> BatchNorms(Module model)
    {
        var byRunningMean = new Dictionary<Tensor, BatchNorm1d>(ReferenceEqualityComparer.Instance);
        foreach (var (_, module) in model.NamedModules())
            if (module is BatchNorm1d { RunningMean: { } mean } bn) byRunningMean[mean] = bn;
        if (byRunningMean.Count == 0) yield break;
        const string suffix = "running_mean";
        foreach (var (name, tensor) in model.StateDict())
            if (byRunningMean.TryGetValue(tensor, out var bn) && name.EndsWith(suffix, StringComparison.Ordinal))
                yield return (name.Length == suffix.Length ? "" : name[..(name.Length - suffix.Length - 1)], bn);
    }

    private static string Qualify(string path, string name) => path.Length == 0 ? name : path + "." + name;
}
