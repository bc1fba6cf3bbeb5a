namespace NormSharp.Layers;

/// <summary>Which normalization an <see cref="Mlp"/> applies to the summed inputs of its hidden layers.</summary>
public enum NormKind
{
    /// <summary>No normalization.</summary>
    None,
    /// <summary>Layer normalization (per sample).</summary>
    Layer,
    /// <summary>Batch normalization (per feature, over the batch).</summary>
    Batch,
    /// <summary>RMS normalization (per sample, no centring).</summary>
    Rms,
    /// <summary>Batch normalization whose statistics span every rank of a data-parallel run (<see cref="SyncBatchNorm"/>); plain batch normalization in one process.</summary>
    SyncBatch,
    /// <summary>
    /// Weight normalization (Salimans &amp; Kingma 2016): the hidden layers' weights are reparameterized as
    /// g·v/‖v‖ per output unit (<see cref="WeightNormLinear"/>); the summed inputs themselves are not normalized.
    /// </summary>
    Weight,
}

/// <summary>Parsing and printing of <see cref="NormKind"/> with the CLI's spelling.</summary>
public static class NormKinds
{
    /// <summary>The accepted spellings: none, layer, batch, rms, sync-batch, weight.</summary>
    public static readonly string[] Names = ["none", "layer", "batch", "rms", "sync-batch", "weight"];

    /// <summary>The CLI spelling of <paramref name="kind"/>.</summary>
    public static string Name(NormKind kind) => Names[(int)kind];

    /// <summary>Parses a CLI spelling; throws <see cref="Errors.InvalidValueException"/> listing the choices otherwise.</summary>
    public static NormKind Parse(string name)
    {
        int i = Array.IndexOf(Names, name);
        if (i < 0) throw new Errors.InvalidValueException("norm", $"unknown normalization '{name}' (expected one of {string.Join("|", Names)})");
        return (NormKind)i;
    }
}
