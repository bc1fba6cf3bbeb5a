using NormSharp.IO.Idx;
using NormSharp.Tensors;

namespace NormSharp.Tests;

/// <summary>Small synthetic datasets written as IDX folders, so tests never need the network or system data.</summary>
internal static class TestData
{
    /// <summary>A temporary folder deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("normsharp-test").FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Writes train/test IDX files of learnable 28×28 images: class c lights up a band of rows whose position
    /// depends on c, plus noise.
    /// </summary>
    public static void WriteFolder(string dir, int train = 240, int test = 60, int classes = 4, bool gzip = false, ulong seed = 1)
    {
        var rng = new Rng(seed);
        void Write(string prefix, int count)
        {
            var img = new byte[count * 784];
            var lab = new byte[count];
            for (int i = 0; i < count; i++)
            {
                int c = i % classes;
                lab[i] = (byte)c;
                for (int p = 0; p < 784; p++)
                {
                    int row = p / 28;
                    bool on = row / (28 / classes) == c;
                    img[i * 784 + p] = (byte)Math.Clamp((on ? 180 : 20) + rng.NextInt(60) - 30, 0, 255);
                }
            }
            string ext = gzip ? ".gz" : "";
            IdxFile.Write(System.IO.Path.Combine(dir, $"{prefix}-images-idx3-ubyte{ext}"), IdxArray.FromBytes(img, count, 28, 28), gzip);
            IdxFile.Write(System.IO.Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{ext}"), IdxArray.FromBytes(lab, count), gzip);
        }
        Write("train", train);
        Write("t10k", test);
    }
}
