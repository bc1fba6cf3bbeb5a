namespace NormSharp.IO.Safetensors;

/// <summary>One tensor listed in a safetensors header.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">The element type as spelled in the file (F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL).</param>
/// <param name="Shape">The dimensions.</param>
/// <param name="Begin">Start of its bytes, relative to the data section.</param>
/// <param name="End">End of its bytes (exclusive), relative to the data section.</param>
public sealed record SafetensorsEntry(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Shape as printed, e.g. [4, 1024].</summary>
    public string ShapeText => Errors.ShapeMismatchException.Format(Shape);
}
