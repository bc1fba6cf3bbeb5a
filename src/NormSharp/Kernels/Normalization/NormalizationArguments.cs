using NormSharp.Errors;

namespace NormSharp.Kernels.Normalization;

/// <summary>
/// The argument checks every normalization shares, with one rule for eps: it must be finite and not negative, as
/// PyTorch accepts (eps = 0 is allowed: a constant row then has an infinite rstd, as in PyTorch).
/// Messages name the operation, the argument and the values; they are only built when a check fails, since the
/// checks run on every call of a training step.
/// </summary>
internal static class NormalizationArguments
{
    /// <summary>Rejects a NaN, infinite or negative eps.</summary>
    public static void CheckEps(string op, float eps)
    {
        if (!(eps >= 0f) || float.IsInfinity(eps))
            throw new InvalidValueException("eps", $"{op}: eps must be finite and non-negative, got {eps}.");
    }

    /// <summary>Rejects a size below <paramref name="least"/>; <paramref name="what"/> describes it (e.g. "n (batch size)").</summary>
    public static void CheckSize(string op, string name, string what, int value, int least)
    {
        if (value < least)
            throw new InvalidValueException(name, $"{op}: {what} must be at least {least}, got {value}.");
    }

    /// <summary>Rejects a total element count that no span can hold.</summary>
    public static long CheckTotal(string op, InputShape shape)
    {
        long total = shape.Elements;
        if (total > Array.MaxLength)
            throw new ShapeMismatchException($"{op}: input size {shape} has {total} elements, more than a span can hold.");
        return total;
    }

    /// <summary>A span that must hold exactly <paramref name="expected"/> elements for the input size <paramref name="shape"/>.</summary>
    public static void CheckLength(string op, string name, int actual, long expected, InputShape shape)
    {
        if (actual != expected)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but the input size {shape} needs {expected}.");
    }

    /// <summary>A span that holds one value per unit: "{name} has 2 elements but there are 3 {unit}".</summary>
    public static void CheckPerUnit(string op, string name, int actual, int expected, string unit)
    {
        if (actual != expected)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but there are {expected} {unit}.");
    }

    /// <summary>An optional span: empty (left out) or one value per unit.</summary>
    public static void CheckOptional(string op, string name, int actual, int expected, string unit)
    {
        if (actual != 0 && actual != expected)
            throw new ShapeMismatchException($"{op}: {name} has {actual} elements but there are {expected} {unit} (pass an empty span to leave it out).");
    }
}

/// <summary>An input's dimensions, formatted "[2, 3]" or "[2, 3, 4]" only when a message needs them.</summary>
internal readonly struct InputShape(int d0, int d1, int d2 = -1)
{
    /// <summary>The number of elements.</summary>
    public long Elements => (long)d0 * d1 * (d2 < 0 ? 1 : d2);

    public override string ToString() => d2 < 0 ? $"[{d0}, {d1}]" : $"[{d0}, {d1}, {d2}]";
}
