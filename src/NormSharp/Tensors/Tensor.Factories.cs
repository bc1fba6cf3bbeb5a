using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NormSharp.Errors;

namespace NormSharp.Tensors;

/// <summary>Creation helpers with PyTorch's names: filled, random, ranges and from .NET arrays.</summary>
public sealed partial class Tensor
{
    /// <summary>A new tensor of ones (PyTorch's <c>ones</c>).</summary>
    public static Tensor Ones(params ReadOnlySpan<int> shape) => Full(1f, shape);

    /// <summary>A rank-0 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value) => Full(value);

    /// <summary>A new zero tensor of <paramref name="like"/>'s shape (PyTorch's <c>zeros_like</c>).</summary>
    public static Tensor ZerosLike(Tensor like)
    {
        ArgumentNullException.ThrowIfNull(like);
        return Zeros(like.Shape);
    }

    /// <summary>A new tensor of ones of <paramref name="like"/>'s shape (PyTorch's <c>ones_like</c>).</summary>
    public static Tensor OnesLike(Tensor like)
    {
        ArgumentNullException.ThrowIfNull(like);
        return Full(1f, like.Shape);
    }

    /// <summary>A new tensor of <paramref name="like"/>'s shape filled with <paramref name="value"/> (PyTorch's <c>full_like</c>).</summary>
    public static Tensor FullLike(Tensor like, float value)
    {
        ArgumentNullException.ThrowIfNull(like);
        return Full(value, like.Shape);
    }

    /// <summary>Standard normal samples drawn from <paramref name="rng"/> (PyTorch's <c>randn</c>); equal seeds give equal tensors on every machine.</summary>
    public static Tensor Randn(Rng rng, params ReadOnlySpan<int> shape) => Normal(rng, 0f, 1f, shape);

    /// <summary>Normal samples of mean <paramref name="mean"/> and standard deviation <paramref name="std"/> (PyTorch's <c>normal</c>).</summary>
    /// <exception cref="InvalidValueException"><paramref name="std"/> is negative or not finite.</exception>
    public static Tensor Normal(Rng rng, float mean, float std, params ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(std >= 0f) || float.IsInfinity(std)) throw new InvalidValueException(nameof(std), $"Normal: std must be a finite number ≥ 0, got {std}.");
        var t = Zeros(shape);
        rng.FillNormal(t.Span, mean, std);
        return t;
    }

    /// <summary>Uniform samples from [0, 1) drawn from <paramref name="rng"/> (PyTorch's <c>rand</c>).</summary>
    public static Tensor Rand(Rng rng, params ReadOnlySpan<int> shape) => Uniform(rng, 0f, 1f, shape);

    /// <summary>Uniform samples from [<paramref name="low"/>, <paramref name="high"/>) (PyTorch's <c>uniform_</c>).</summary>
    /// <exception cref="InvalidValueException">A bound is not finite, or <paramref name="low"/> &gt; <paramref name="high"/>.</exception>
    public static Tensor Uniform(Rng rng, float low, float high, params ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!float.IsFinite(low) || !float.IsFinite(high) || low > high)
            throw new InvalidValueException(nameof(low), $"Uniform: the range [{low}, {high}) must be finite with low ≤ high.");
        var t = Zeros(shape);
        rng.FillUniform(t.Span, low, high);
        return t;
    }

    /// <summary>Whole numbers drawn uniformly from [<paramref name="low"/>, <paramref name="high"/>) (PyTorch's <c>randint</c>), stored as floats.</summary>
    /// <exception cref="InvalidValueException">The range is empty or not exactly representable as floats (beyond ±2²⁴).</exception>
    public static Tensor RandInt(Rng rng, int low, int high, params ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (low >= high) throw new InvalidValueException(nameof(high), $"RandInt: the range [{low}, {high}) is empty.");
        if (low < -(1 << 24) || high > 1 << 24) throw new InvalidValueException(nameof(high), $"RandInt: [{low}, {high}) goes beyond ±2^24, where floats no longer hold every whole number.");
        var t = Zeros(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = low + rng.NextInt(high - low);
        return t;
    }

    /// <summary>0, 1, …, up to but excluding <paramref name="end"/> (PyTorch's <c>arange(end)</c>).</summary>
    /// <exception cref="InvalidValueException">The range is not finite.</exception>
    public static Tensor Arange(float end) => Arange(0f, end, 1f);

    /// <summary>
    /// <paramref name="start"/>, start + step, …, up to but excluding <paramref name="end"/> (PyTorch's <c>arange</c>):
    /// ⌈(end − start)/step⌉ elements, each computed as start + i·step in double precision.
    /// </summary>
    /// <exception cref="InvalidValueException">The step is zero, the values are not finite, or the step points away from the end.</exception>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (!float.IsFinite(start) || !float.IsFinite(end) || !float.IsFinite(step))
            throw new InvalidValueException(nameof(step), $"Arange: start {start}, end {end} and step {step} must be finite.");
        if (step == 0f) throw new InvalidValueException(nameof(step), "Arange: the step must not be zero.");
        if (step > 0 && end < start || step < 0 && end > start)
            throw new InvalidValueException(nameof(step), $"Arange: a step of {step} never goes from {start} to {end}.");
        double count = Math.Ceiling(((double)end - start) / step);
        if (count > Array.MaxLength) throw new InvalidValueException(nameof(step), $"Arange: {count} elements do not fit in a tensor.");
        var t = Zeros((int)count);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(start + i * (double)step);
        return t;
    }

    /// <summary><paramref name="steps"/> evenly spaced values from <paramref name="start"/> to <paramref name="end"/> inclusive (PyTorch's <c>linspace</c>).</summary>
    /// <exception cref="InvalidValueException"><paramref name="steps"/> is negative or a bound is not finite.</exception>
    public static Tensor Linspace(float start, float end, int steps)
    {
        if (steps < 0) throw new InvalidValueException(nameof(steps), $"Linspace: the number of steps must be ≥ 0, got {steps}.");
        if (!float.IsFinite(start) || !float.IsFinite(end)) throw new InvalidValueException(nameof(start), $"Linspace: start {start} and end {end} must be finite.");
        var t = Zeros(steps);
        var s = t.Span;
        double delta = steps > 1 ? ((double)end - start) / (steps - 1) : 0;
        for (int i = 0; i < steps; i++) s[i] = i == steps - 1 && steps > 1 ? end : (float)(start + i * delta);
        return t;
    }

    /// <summary>The [n, m] identity matrix (m defaults to n; PyTorch's <c>eye</c>).</summary>
    /// <exception cref="ShapeMismatchException">A size is negative.</exception>
    public static Tensor Eye(int n, int? m = null)
    {
        int cols = m ?? n;
        var t = Zeros(n, cols);
        for (int i = 0; i < Math.Min(n, cols); i++) t.Span[i * cols + i] = 1f;
        return t;
    }

    /// <summary>A new 1-D tensor holding a copy of <paramref name="values"/> (PyTorch's <c>tensor</c> of a list).</summary>
    public static Tensor FromArray(float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return FromValues(values, values.Length);
    }

    /// <summary>A new [rows, cols] tensor holding a copy of <paramref name="values"/>.</summary>
    public static Tensor FromArray(float[,] values) => FromArray((Array)values);

    /// <summary>A new rank-3 tensor holding a copy of <paramref name="values"/>.</summary>
    public static Tensor FromArray(float[,,] values) => FromArray((Array)values);

    /// <summary>A new rank-4 tensor holding a copy of <paramref name="values"/>.</summary>
    public static Tensor FromArray(float[,,,] values) => FromArray((Array)values);

    /// <summary>
    /// A new tensor holding a copy of <paramref name="values"/>: a rectangular array of any rank
    /// (<c>float[,,]</c>), a nested (jagged) array (<c>float[][]</c>, <c>float[][][]</c>), or a mix, whose leaves
    /// are <see cref="float"/>, <see cref="double"/>, <see cref="Half"/>, <see cref="int"/>, <see cref="long"/>,
    /// <see cref="short"/>, <see cref="byte"/>, <see cref="sbyte"/> or <see cref="bool"/> (true is 1). Values are
    /// rounded to float32. Nested arrays must be rectangular, as PyTorch's <c>tensor</c> requires.
    /// </summary>
    /// <exception cref="ShapeMismatchException">Nested arrays of different lengths at one level.</exception>
    /// <exception cref="InvalidValueException">An element type that is not a number or bool.</exception>
    public static Tensor FromArray(Array values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var shape = new List<int>();
        InferShape(values, shape);
        var t = Zeros(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shape));
        int written = CopyNested(values, t.Span, shape, 0, "values");
        if (written != t.Length)
            throw new ShapeMismatchException($"FromArray: the nested arrays hold {written} values, but their shape {ShapeMismatchException.Format(CollectionsMarshal.AsSpan(shape))} needs {t.Length}.");
        return t;
    }

    private static void InferShape(Array a, List<int> shape)
    {
        for (int r = 0; r < a.Rank; r++) shape.Add(a.GetLength(r));
        var element = a.GetType().GetElementType()!;
        if (!element.IsArray) return;
        if (a.Length > 0 && FirstElement(a) is Array first) InferShape(first, shape);
        else
            for (var e = element; e.IsArray; e = e.GetElementType()!)
                for (int r = 0; r < e.GetArrayRank(); r++) shape.Add(0);
    }

    private static object? FirstElement(Array a)
    {
        foreach (var e in a) return e;
        return null;
    }

    /// <summary>Copies the leaves of <paramref name="a"/> (at nesting <paramref name="depth"/> of the shape) into dst; returns how many.</summary>
    private static int CopyNested(Array a, Span<float> dst, List<int> shape, int depth, string path)
    {
        for (int r = 0; r < a.Rank; r++)
            if (depth + r >= shape.Count || a.GetLength(r) != shape[depth + r])
                throw new ShapeMismatchException($"FromArray: {path} has length {a.GetLength(r)} in its dimension {r}, but its siblings have {(depth + r < shape.Count ? shape[depth + r] : 0)}; nested arrays must be rectangular.");
        var element = a.GetType().GetElementType()!;
        if (!element.IsArray) return CopyLeaves(a, element, dst);
        int written = 0, i = 0;
        foreach (var item in a)
        {
            if (item is not Array inner)
                throw new ShapeMismatchException($"FromArray: {path}[{i}] is null.");
            written += CopyNested(inner, dst[written..], shape, depth + a.Rank, $"{path}[{i}]");
            i++;
        }
        return written;
    }

    /// <summary>Copies a rectangular array of numbers (any rank, stored row-major) into dst, converting to float.</summary>
    private static int CopyLeaves(Array a, Type element, Span<float> dst)
    {
        int n = a.Length;
        ref byte data = ref MemoryMarshal.GetArrayDataReference(a);
        if (element == typeof(float)) MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, float>(ref data), n).CopyTo(dst);
        else if (element == typeof(double)) Convert(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, double>(ref data), n), dst, v => (float)v);
        else if (element == typeof(Half)) Convert(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, Half>(ref data), n), dst, v => (float)v);
        else if (element == typeof(int)) Convert(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, int>(ref data), n), dst, v => v);
        else if (element == typeof(long)) Convert(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, long>(ref data), n), dst, v => v);
        else if (element == typeof(short)) Convert(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, short>(ref data), n), dst, v => v);
        else if (element == typeof(byte)) Convert(MemoryMarshal.CreateReadOnlySpan(ref data, n), dst, v => v);
        else if (element == typeof(sbyte)) Convert(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, sbyte>(ref data), n), dst, v => v);
        else if (element == typeof(bool)) Convert(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, bool>(ref data), n), dst, v => v ? 1f : 0f);
        else throw new InvalidValueException("values", $"FromArray: elements of type {element.Name} are not numbers; use float, double, Half, int, long, short, byte, sbyte or bool.");
        return n;
    }

    private static void Convert<T>(ReadOnlySpan<T> src, Span<float> dst, Func<T, float> convert)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = convert(src[i]);
    }
}
