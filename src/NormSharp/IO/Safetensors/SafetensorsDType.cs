namespace NormSharp.IO.Safetensors;

/// <summary>The element types <see cref="SafetensorsWriter"/> can store.</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 single precision, exactly as held in memory.</summary>
    F32,
    /// <summary>IEEE 754 half precision, rounded to nearest even; values beyond ±65504 become ±infinity.</summary>
    F16,
    /// <summary>bfloat16 (the top 16 bits of a float32), rounded to nearest even; NaN stays NaN.</summary>
    BF16,
    /// <summary>64-bit signed integers (counters such as PyTorch's <c>num_batches_tracked</c>).</summary>
    I64,
}
