using NormSharp.Data;

namespace NormSharp.Datasets;

/// <summary>The datasets NormSharp knows by name, and where each comes from.</summary>
public static class DatasetCatalog
{
    /// <summary>The names accepted by <see cref="Load"/>.</summary>
    public static readonly string[] Names = ["mnist-digits", "fashion-mnist"];

    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the data.</summary>
    public const string FashionMnistSystemDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>
    /// Loads <paramref name="name"/>. A <paramref name="dataDir"/> holding the four standard IDX files
    /// overrides the default location (so real MNIST can be read the same way).
    /// </summary>
    public static DatasetSplit Load(string name, string? dataDir = null, Action<string>? log = null)
    {
        if (dataDir is not null)
        {
            if (!Directory.Exists(dataDir)) throw new DataUnavailableException(IdxDatasetFolder.BrokenLinkProblem(dataDir) ?? $"the data folder {dataDir} does not exist.");
            return IdxDatasetFolder.Load(dataDir, name);
        }
        return name switch
        {
            "mnist-digits" => MnistDigits.Load(log),
            "fashion-mnist" => IdxDatasetFolder.IsComplete(FashionMnistSystemDirectory)
                ? IdxDatasetFolder.Load(FashionMnistSystemDirectory, name)
                : throw new DataUnavailableException($"fashion-mnist is not installed: {FashionMnistSystemDirectory} lacks the IDX files. Run 'apt-get install dataset-fashion-mnist', or use a folder with the four IDX files."),
            _ => throw new Errors.InvalidValueException("dataset", $"unknown dataset '{name}' (expected one of {string.Join("|", Names)})"),
        };
    }
}
