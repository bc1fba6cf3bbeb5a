using NormSharp.Errors;
using NormSharp.Layers;

namespace NormSharp.Onnx;

/// <summary>A model, or one of its parts, has no ONNX form, or does not fit the input it would be exported for; the message says which part and why.</summary>
public sealed class OnnxExportException : NormSharpException
{
    /// <summary>The state-dict path of the part that could not be exported ("" for the model itself).</summary>
    public string ModulePath { get; }

    /// <summary>Creates the exception for the part at <paramref name="modulePath"/>.</summary>
    public OnnxExportException(string modulePath, string message) : base(message) => ModulePath = modulePath;

    internal static OnnxExportException For(string path, Module module, string problem) =>
        new(path, $"ONNX export: {(path.Length == 0 ? "the model" : $"'{path}'")} ({module.GetType().Name}): {problem}");
}
