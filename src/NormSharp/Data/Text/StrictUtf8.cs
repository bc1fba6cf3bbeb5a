using System.Text;
using NormSharp.Errors;

namespace NormSharp.Data.Text;

/// <summary>Reads text files as strict UTF-8: invalid bytes are an error naming the file and the offset, never silently replaced.</summary>
internal static class StrictUtf8
{
    private static readonly UTF8Encoding Encoding = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string ReadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new CorruptFileException(path, "the file does not exist.", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new CorruptFileException(path, "the file does not exist.", e);
        }
        return Decode(bytes, path);
    }

    public static string Decode(byte[] bytes, string source)
    {
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        try
        {
            return Encoding.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            int offset = e.Index >= 0 ? e.Index + start : -1;
            throw new CorruptFileException(source, $"the file is not valid UTF-8 (invalid byte{(offset >= 0 ? $" at offset {offset}" : "")}); convert it to UTF-8 first.", e);
        }
    }
}
