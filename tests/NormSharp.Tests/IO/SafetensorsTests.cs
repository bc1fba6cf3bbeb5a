using System.Buffers.Binary;
using System.Text;
using NormSharp.Errors;
using NormSharp.IO.Safetensors;
using NormSharp.Tensors;

namespace NormSharp.Tests.IO;

public class SafetensorsTests
{
    private static byte[] Build(string header, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    private static CorruptFileException Fails(byte[] bytes) =>
        Assert.Throws<CorruptFileException>(() => SafetensorsFile.Read(bytes, "case.safetensors"));

    [Fact]
    public void RoundTripKeepsNamesShapesValuesAndMetadata()
    {
        var dir = Directory.CreateTempSubdirectory("normsharp-st");
        try
        {
            string path = Path.Combine(dir.FullName, "m.safetensors");
            var a = Tensor.FromValues([1.5f, -2f, float.MaxValue, 0f, 1e-30f, 3f], 2, 3);
            var b = Tensor.FromValues([7f], 1);
            SafetensorsWriter.Write(path, [("layers.0.weight", a), ("scalar", b)], new Dictionary<string, string> { ["op"] = "test", ["k"] = "v" });
            var f = SafetensorsFile.Read(path);
            Assert.Equal("test", f.Metadata["op"]);
            Assert.Equal(["layers.0.weight", "scalar"], f.Entries.Select(e => e.Name));
            Assert.Equal(a.ToArray(), f.GetTensor("layers.0.weight").ToArray());
            Assert.Equal(new[] { 2, 3 }, f.GetTensor("layers.0.weight").Shape.ToArray());
            Assert.Equal(0, (new FileInfo(path).Length - 8 - 24 - 4) % 4);
            Assert.Empty(Directory.GetFiles(dir.FullName, "*.tmp"));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void TooShortFile() => Assert.Contains("too short", Fails([1, 2, 3]).Message);

    [Fact]
    public void HeaderLengthBeyondTheFile()
    {
        var bytes = Build("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        Assert.Contains("past the end", Fails(bytes).Message);
    }

    [Fact]
    public void AbsurdHeaderLength()
    {
        var bytes = Build("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Contains("limit", Fails(bytes).Message);
    }

    [Fact]
    public void BadJson() => Assert.Contains("not valid JSON", Fails(Build("{\"a\": [", 0)).Message);

    [Fact]
    public void JsonThatIsNotAnObject() => Assert.Contains("object", Fails(Build("[1,2]", 0)).Message);

    [Fact]
    public void NonUtf8Header()
    {
        var bytes = Build("{\"x\":1}", 0);
        bytes[9] = 0xff;
        Assert.Contains("UTF-8", Fails(bytes).Message);
    }

    [Fact]
    public void UnknownDType() =>
        Assert.Contains("unknown dtype 'Q7'", Fails(Build("{\"t\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)).Message);

    [Fact]
    public void OffsetsOutOfRange() =>
        Assert.Contains("beyond", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4)).Message);

    [Fact]
    public void ReversedOffsets() =>
        Assert.Contains("reversed", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4)).Message);

    [Fact]
    public void OverlappingTensors() =>
        Assert.Contains("overlaps", Fails(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)).Message);

    [Fact]
    public void GapBetweenTensors() =>
        Assert.Contains("gap", Fails(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12)).Message);

    [Fact]
    public void ShapeAndByteCountDisagree() =>
        Assert.Contains("needs 12 bytes", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)).Message);

    [Fact]
    public void NegativeOrHugeDimensions()
    {
        Assert.Contains("invalid dimension", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)).Message);
        Assert.Contains("more elements", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[2000000000,2000000000],\"data_offsets\":[0,4]}}", 4)).Message);
    }

    [Fact]
    public void MissingFieldsAndDuplicateNames()
    {
        Assert.Contains("dtype", Fails(Build("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4)).Message);
        Assert.Contains("data_offsets", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)).Message);
        Assert.Contains("twice", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)).Message);
    }

    [Fact]
    public void TrailingBytesAfterTheLastTensor() =>
        Assert.Contains("cover 4 bytes", Fails(Build("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8)).Message);

    [Fact]
    public void MissingFileIsACorruptFileErrorNamingThePath()
    {
        var e = Assert.Throws<CorruptFileException>(() => SafetensorsFile.Read("does-not-exist.safetensors"));
        Assert.Contains("does-not-exist.safetensors", e.Message);
    }
}
