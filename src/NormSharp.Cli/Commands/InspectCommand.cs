using NormSharp.Cli.Arguments;
using NormSharp.Errors;
using NormSharp.IO.Idx;
using NormSharp.IO.Safetensors;

namespace NormSharp.Cli.Commands;

/// <summary><c>normsharp inspect FILE</c>: what a safetensors or IDX file holds, validated on the way.</summary>
internal static class InspectCommand
{
    public static CommandSpec Spec { get; } = new()
    {
        Name = "inspect",
        Summary = "list the tensors and metadata of a safetensors file, or the type and dimensions of an IDX file",
        Positional = "FILE",
        PositionalDescription = "a .safetensors file, or an IDX file (plain or gzip)",
        Options = [new("json", null, "print the description as JSON")],
        Handler = Run,
        Examples = ["normsharp inspect runs/ln/model.safetensors", "normsharp inspect /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"],
    };

    private static int Run(ParsedArguments a, CliContext ctx)
    {
        string path = a.Positional!;
        if (!File.Exists(path)) throw new CorruptFileException(path, "file not found.");
        bool json = a.Flag("json");
        if (LooksLikeSafetensors(path))
        {
            var f = SafetensorsFile.Read(path);
            if (json)
            {
                var doc = new
                {
                    format = "safetensors",
                    metadata = f.Metadata,
                    tensors = f.Entries.Select(e => new { name = e.Name, dtype = e.DType, shape = e.Shape }),
                };
                ctx.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(doc, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                return CommandLine.Ok;
            }
            ctx.Out.WriteLine($"{path}: safetensors, {f.Entries.Count} tensors, {f.Entries.Sum(e => e.ElementCount):N0} elements");
            foreach (var (k, v) in f.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                ctx.Out.WriteLine($"  metadata {k} = {(v.Length > 100 ? v[..100] + "…" : v)}");
            int width = f.Entries.Count == 0 ? 4 : f.Entries.Max(e => e.Name.Length);
            foreach (var e in f.Entries) ctx.Out.WriteLine($"  {e.Name.PadRight(width)}  {e.DType,-5} {e.ShapeText}");
            return CommandLine.Ok;
        }
        var idx = IdxFile.Read(path);
        if (json)
        {
            ctx.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { format = "idx", element_type = idx.ElementType.ToString(), dims = idx.Dims }));
            return CommandLine.Ok;
        }
        ctx.Out.WriteLine($"{path}: IDX, {idx.ElementType}, dimensions [{string.Join(", ", idx.Dims)}] ({idx.Count:N0} elements)");
        return CommandLine.Ok;
    }

    /// <summary>IDX files start with two zero bytes (or gzip's 1f 8b); a safetensors header length's first byte is almost never zero and its JSON opens with '{'.</summary>
    private static bool LooksLikeSafetensors(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return true;
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        int n = fs.ReadAtLeast(head, 9, throwOnEndOfStream: false);
        return n == 9 && head[8] == (byte)'{';
    }
}
