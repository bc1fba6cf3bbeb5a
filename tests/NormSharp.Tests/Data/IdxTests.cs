using NormSharp.Datasets;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.IO.Idx;

namespace NormSharp.Tests.Data;

public class IdxTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTripsEveryElementType(bool gzip)
    {
        using var dir = new TestData.TempDir();
        foreach (var type in Enum.GetValues<IdxElementType>())
        {
            int size = IdxElementTypes.SizeOf(type);
            var payload = new byte[3 * 5 * size];
            new NormSharp.Tensors.Rng(1).Shuffle(payload.AsSpan());
            for (int i = 0; i < payload.Length; i++) payload[i] = (byte)(i * 7);
            var a = new IdxArray(type, [3, 5], payload);
            string path = Path.Combine(dir.Path, $"{type}.idx{(gzip ? ".gz" : "")}");
            IdxFile.Write(path, a, gzip);
            var b = IdxFile.Read(path);
            Assert.Equal(type, b.ElementType);
            Assert.Equal(new[] { 3, 5 }, b.Dims);
            Assert.Equal(payload, b.Payload);
        }
    }

    private static CorruptFileException ReadBytes(byte[] bytes, bool gzip = false)
    {
        using var dir = new TestData.TempDir();
        string path = Path.Combine(dir.Path, "x.idx");
        if (gzip)
        {
            using var fs = File.Create(path);
            using var z = new System.IO.Compression.GZipStream(fs, System.IO.Compression.CompressionLevel.Fastest);
            z.Write(bytes);
        }
        else File.WriteAllBytes(path, bytes);
        return Assert.Throws<CorruptFileException>(() => IdxFile.Read(path));
    }

    [Fact]
    public void BadMagicNamesTheBytes() => Assert.Contains("bad magic number 12 34", ReadBytes([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5]).Message);

    [Fact]
    public void UnknownTypeCode() => Assert.Contains("0x07", ReadBytes([0, 0, 0x07, 0x01, 0, 0, 0, 1, 5]).Message);

    [Fact]
    public void TruncatedHeader() => Assert.Contains("truncated", ReadBytes([0, 0, 0x08, 0x03, 0, 0, 0, 1]).Message);

    [Fact]
    public void TruncatedData() => Assert.Contains("truncated", ReadBytes([0, 0, 0x08, 0x01, 0, 0, 0, 9, 1, 2, 3]).Message);

    [Fact]
    public void TruncatedGzipData() => Assert.Contains("truncated", ReadBytes([0, 0, 0x08, 0x01, 0, 0, 0, 9, 1, 2, 3], gzip: true).Message);

    [Fact]
    public void TrailingBytes()
    {
        Assert.Contains("unexpected bytes", ReadBytes([0, 0, 0x08, 0x01, 0, 0, 0, 2, 1, 2, 3]).Message);
        Assert.Contains("unexpected bytes", ReadBytes([0, 0, 0x08, 0x01, 0, 0, 0, 2, 1, 2, 3], gzip: true).Message);
    }

    [Fact]
    public void HugeDimensionsAreRejectedBeforeAllocating()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = ReadBytes([0, 0, 0x0E, 0x03, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
        Assert.Contains("more data than the file can hold", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000);
    }

    [Fact]
    public void DatasetFolderChecksCountsLabelsAndSizes()
    {
        using var dir = new TestData.TempDir();
        TestData.WriteFolder(dir.Path, gzip: true);
        var split = IdxDatasetFolder.Load(dir.Path, "synthetic");
        Assert.Equal(240, split.Train.Count);
        Assert.Equal(60, split.Test.Count);
        Assert.Equal(784, split.Train.Features);

        // Label count differs from image count.
        IdxFile.Write(Path.Combine(dir.Path, "train-labels-idx1-ubyte.gz"), IdxArray.FromBytes(new byte[10], 10), gzip: true);
        var e = Assert.Throws<CorruptFileException>(() => IdxDatasetFolder.Load(dir.Path, "synthetic"));
        Assert.Contains("10 labels", e.Message);
        Assert.Contains("240 images", e.Message);

        // A label outside the class range.
        var labels = new byte[240];
        labels[17] = 42;
        IdxFile.Write(Path.Combine(dir.Path, "train-labels-idx1-ubyte.gz"), IdxArray.FromBytes(labels, 240), gzip: true);
        var e2 = Assert.Throws<CorruptFileException>(() => IdxDatasetFolder.Load(dir.Path, "synthetic"));
        Assert.Contains("label 42 at index 17", e2.Message);

        // Test images of another size.
        IdxFile.Write(Path.Combine(dir.Path, "train-labels-idx1-ubyte.gz"), IdxArray.FromBytes(new byte[240], 240), gzip: true);
        IdxFile.Write(Path.Combine(dir.Path, "t10k-images-idx3-ubyte.gz"), IdxArray.FromBytes(new byte[60 * 100], 60, 10, 10), gzip: true);
        var e3 = Assert.Throws<CorruptFileException>(() => IdxDatasetFolder.Load(dir.Path, "synthetic"));
        Assert.Contains("10×10", e3.Message);
    }

    [Fact]
    public void MissingDataSaysHowToGetIt()
    {
        using var dir = new TestData.TempDir();
        var e = Assert.Throws<DataUnavailableException>(() => DatasetCatalog.Load("fashion-mnist", dir.Path));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
        Assert.Throws<NormSharp.Errors.InvalidValueException>(() => DatasetCatalog.Load("cifar"));
    }

    [Fact]
    public void NpmDigitJsonIsParsedAndValidated()
    {
        var json = "{\"data\":[" + string.Join(",", Enumerable.Range(0, 784 * 2).Select(i => (i % 784 == 5 ? "1" : "0"))) + "]}";
        var digits = MnistDigits.ParseDigitJson(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)), "7.json");
        Assert.Equal(2, digits.Count);
        Assert.Equal(255, digits[1][5]);
        var bad = "{\"data\":[0,1,2]}";
        Assert.Throws<CorruptFileException>(() => MnistDigits.ParseDigitJson(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(bad)), "7.json"));
    }
}
