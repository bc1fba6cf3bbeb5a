using System.Globalization;

namespace NormSharp.Layers;

/// <summary>Formats module settings the way PyTorch prints them (<c>True</c>, <c>1e-05</c>, <c>(1000,)</c>), so printed models read alike.</summary>
internal static class Repr
{
    public static string Bool(bool b) => b ? "True" : "False";

    /// <summary>The shortest round-trip form, in Python's spelling: <c>0.1</c>, <c>1.0</c>, <c>1e-05</c>.</summary>
    public static string Float(float f)
    {
        string s = f.ToString("R", CultureInfo.InvariantCulture);
        int e = s.IndexOf('E');
        if (e < 0) return s.Contains('.') || s.Contains("Infinity") || s == "NaN" ? s : s + ".0";
        int exponent = int.Parse(s[(e + 1)..], CultureInfo.InvariantCulture);
        return $"{s[..e]}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
    }

    public static string Shape(IReadOnlyList<int> shape) => shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
}
