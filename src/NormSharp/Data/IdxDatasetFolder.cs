using NormSharp.Errors;
using NormSharp.IO.Idx;
using NormSharp.Tensors;

namespace NormSharp.Data;

/// <summary>
/// Loads a dataset stored as the four standard IDX files of the MNIST family
/// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte),
/// each plain or with a <c>.gz</c> suffix, and checks that they agree with each other.
/// </summary>
public static class IdxDatasetFolder
{
    /// <summary>The four file names, without a compression suffix.</summary>
    public static readonly string[] FileNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>True when all four files are present in <paramref name="dir"/>.</summary>
    public static bool IsComplete(string dir) => FileNames.All(f => Find(dir, f) is not null);

    /// <summary>Loads the split; <paramref name="classes"/> bounds the labels.</summary>
    public static DatasetSplit Load(string dir, string name, int classes = 10)
    {
        var missing = FileNames.Where(f => Find(dir, f) is null).ToList();
        if (missing.Count > 0)
            throw new DataUnavailableException($"{name}: {dir} lacks {string.Join(", ", missing)} (plain or .gz).");
        var train = LoadPair(Find(dir, FileNames[0])!, Find(dir, FileNames[1])!, name + "/train", classes);
        var test = LoadPair(Find(dir, FileNames[2])!, Find(dir, FileNames[3])!, name + "/test", classes);
        if (train.Height != test.Height || train.Width != test.Width)
            throw new CorruptFileException(Find(dir, FileNames[2])!, $"test images are {test.Height}×{test.Width} but training images are {train.Height}×{train.Width}.");
        return new DatasetSplit(train, test);
    }

    private static string? Find(string dir, string baseName)
    {
        foreach (string candidate in new[] { baseName, baseName + ".gz" })
        {
            string p = Path.Combine(dir, candidate);
            if (BrokenLinkProblem(p) is { } problem) throw new DataUnavailableException(problem);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>
    /// When <paramref name="path"/> is a symbolic link that never reaches a file or folder (a loop, or a target that
    /// does not exist), says so in words; otherwise (not a link, a good link, nothing there) null.
    /// </summary>
    public static string? BrokenLinkProblem(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        try
        {
            if (info.LinkTarget is null) return null;
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            return target is null || target.Exists ? null : $"{path} is a symbolic link to {info.LinkTarget}, which does not exist.";
        }
        catch (IOException e)
        {
            return $"{path} is a symbolic link that never reaches a file (a loop of links: {e.Message}).";
        }
    }

    private static Dataset LoadPair(string imagesPath, string labelsPath, string name, int classes)
    {
        var images = IdxFile.Read(imagesPath);
        var labels = IdxFile.Read(labelsPath);
        if (images.ElementType != IdxElementType.UInt8 || images.Dims.Length != 3)
            throw new CorruptFileException(imagesPath, $"expected unsigned-byte images [count, rows, cols], found {images.ElementType} with dimensions [{string.Join(", ", images.Dims)}].");
        if (labels.Dims.Length != 1)
            throw new CorruptFileException(labelsPath, $"expected a 1-dimensional label file, found dimensions [{string.Join(", ", labels.Dims)}].");
        if (labels.Dims[0] != images.Dims[0])
            throw new CorruptFileException(labelsPath, $"holds {labels.Dims[0]} labels but {Path.GetFileName(imagesPath)} holds {images.Dims[0]} images.");
        int count = images.Dims[0], h = images.Dims[1], w = images.Dims[2];
        var t = Tensor.Zeros(count, h * w);
        var span = t.Span;
        var payload = images.Payload;
        const float Scale = 1f / 255f;
        for (int i = 0; i < span.Length; i++) span[i] = payload[i] * Scale;
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            double v = labels[i];
            if (v < 0 || v >= classes || v != Math.Floor(v))
                throw new CorruptFileException(labelsPath, $"label {v} at index {i} is outside the {classes} classes [0, {classes}).");
            y[i] = (int)v;
        }
        return new Dataset(name, t, y, classes, h, w);
    }
}
