using System.Globalization;
using System.Text;
using NormSharp.Errors;

namespace NormSharp.Tensors;

/// <summary>How <see cref="Tensor.ToString(TensorPrintOptions)"/> lays out values (PyTorch's <c>set_printoptions</c>, per call).</summary>
/// <param name="Precision">Digits after the decimal point.</param>
/// <param name="Threshold">Above this many elements, only the first and last <paramref name="EdgeItems"/> of each dimension are shown, with "...".</param>
/// <param name="EdgeItems">Entries shown at each end of a dimension when summarizing.</param>
/// <param name="LineWidth">Characters per line before a row of numbers wraps.</param>
public sealed record TensorPrintOptions(int Precision = 4, int Threshold = 1000, int EdgeItems = 3, int LineWidth = 80)
{
    /// <summary>PyTorch's defaults.</summary>
    public static TensorPrintOptions Default { get; } = new();
}

public sealed partial class Tensor
{
    /// <summary>
    /// The values laid out as PyTorch prints them, followed by the shape: <c>tensor([[1.0000, 2.5000], …], shape=[2, 2])</c>.
    /// Whole numbers print as <c>1.</c>; widely ranging magnitudes switch to scientific notation; tensors of more than
    /// 1000 elements show only the first and last three entries of each dimension.
    /// </summary>
    public override string ToString() => ToString(TensorPrintOptions.Default);

    /// <summary>The values laid out as <see cref="ToString()"/> does, with the given options.</summary>
    /// <exception cref="InvalidValueException">An option is negative, or the line width is not positive.</exception>
    public string ToString(TensorPrintOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Precision < 0 || options.Threshold < 0 || options.EdgeItems < 0 || options.LineWidth <= 0)
            throw new InvalidValueException(nameof(options), $"Tensor.ToString: print options must be non-negative with a positive line width, got {options}.");
        var sb = new StringBuilder("tensor(");
        if (Length == 0)
        {
            sb.Append("[]");
        }
        else
        {
            bool summarize = Length > options.Threshold;
            var formatter = new ValueFormatter(this, summarize, options);
            if (Rank == 0) sb.Append(formatter.Format(this[0]).Trim());
            else AppendDim(sb, 0, 0, "tensor(".Length, summarize, formatter, options);
        }
        if (Rank > 0) sb.Append(", shape=").Append(ShapeMismatchException.Format(_shape));
        return sb.Append(')').ToString();
    }

    /// <summary>The indices of a dimension of <paramref name="size"/> that are shown; -1 marks the "..." gap.</summary>
    private static IEnumerable<int> ShownIndices(int size, bool summarize, int edge)
    {
        if (!summarize || size <= 2 * edge)
        {
            for (int i = 0; i < size; i++) yield return i;
            yield break;
        }
        for (int i = 0; i < edge; i++) yield return i;
        yield return -1;
        for (int i = size - edge; i < size; i++) yield return i;
    }

    private void AppendDim(StringBuilder sb, int dim, int offset, int indent, bool summarize, ValueFormatter f, TensorPrintOptions o)
    {
        int stride = 1;
        for (int d = dim + 1; d < Rank; d++) stride *= _shape[d];
        sb.Append('[');
        if (dim == Rank - 1)
        {
            // One row of numbers, wrapped to the line width.
            int perLine = Math.Max(1, (o.LineWidth - indent) / (f.Width + 2));
            int onLine = 0;
            bool first = true;
            foreach (int i in ShownIndices(_shape[dim], summarize, o.EdgeItems))
            {
                if (!first)
                {
                    sb.Append(',');
                    if (onLine == perLine) { sb.Append('\n').Append(' ', indent + 1); onLine = 0; }
                    else sb.Append(' ');
                }
                sb.Append(i < 0 ? "..." : f.Format(Span[offset + i]));
                onLine++;
                first = false;
            }
        }
        else
        {
            string separator = "," + new string('\n', Rank - dim - 1) + new string(' ', indent + 1);
            bool first = true;
            foreach (int i in ShownIndices(_shape[dim], summarize, o.EdgeItems))
            {
                if (!first) sb.Append(separator);
                if (i < 0) sb.Append("...");
                else AppendDim(sb, dim + 1, offset + i * stride, indent + 1, summarize, f, o);
                first = false;
            }
        }
        sb.Append(']');
    }

    /// <summary>Chooses one number format for all shown values (as PyTorch's formatter does) and pads them to one width.</summary>
    private sealed class ValueFormatter
    {
        private readonly bool _integers, _scientific;
        private readonly int _precision;

        public int Width { get; }

        public ValueFormatter(Tensor t, bool summarize, TensorPrintOptions o)
        {
            _precision = o.Precision;
            var shown = new List<float>();
            Collect(t, 0, 0, summarize, o.EdgeItems, shown);
            var finite = shown.Where(float.IsFinite).ToList();
            _integers = finite.All(v => v == MathF.Round(v));
            var magnitudes = finite.Select(MathF.Abs).Where(v => v != 0f).ToList();
            if (magnitudes.Count > 0)
            {
                float max = magnitudes.Max(), min = magnitudes.Min();
                _scientific = _integers ? max > 1e8f : max / min > 1000f || max > 1e8f || min < 1e-4f;
            }
            Width = shown.Count == 0 ? 1 : shown.Max(v => Raw(v).Length);
        }

        private static void Collect(Tensor t, int dim, int offset, bool summarize, int edge, List<float> into)
        {
            int stride = 1;
            for (int d = dim + 1; d < t.Rank; d++) stride *= t._shape[d];
            if (t.Rank == 0) { into.Add(t[0]); return; }
            foreach (int i in ShownIndices(t._shape[dim], summarize, edge))
            {
                if (i < 0) continue;
                if (dim == t.Rank - 1) into.Add(t.Span[offset + i]);
                else Collect(t, dim + 1, offset + i * stride, summarize, edge, into);
            }
        }

        private string Raw(float v)
        {
            if (float.IsNaN(v)) return "nan";
            if (float.IsPositiveInfinity(v)) return "inf";
            if (float.IsNegativeInfinity(v)) return "-inf";
            var c = CultureInfo.InvariantCulture;
            if (_scientific) return v.ToString("0." + new string('0', _precision) + "e+00", c);
            if (_integers) return v.ToString("0", c) + ".";
            return v.ToString("F" + _precision.ToString(c), c);
        }

        public string Format(float v) => Raw(v).PadLeft(Width);
    }
}
