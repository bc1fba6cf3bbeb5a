using System.Globalization;
using System.Text;

namespace NormSharp.Training;

/// <summary>
/// Appends rows to a CSV file (<c>metrics.csv</c>). Every row is flushed, so a killed run leaves every
/// finished row; on resume the file is cut back to the length recorded in the checkpoint, so the resumed
/// run's rows follow on without duplicates. Numbers are formatted round-trip ("R") into a reused buffer,
/// so writing a row allocates nothing.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly FileStream _stream;
    private readonly StreamWriter _writer;
    private readonly string[] _columns;
    private readonly string?[] _text;
    private readonly double[] _numbers;
    private readonly bool[] _isNumber;
    private readonly Dictionary<string, int> _index;
    private readonly char[] _format = new char[64];
    private readonly string _fullPath;
    private bool _disposed;

    /// <summary>The column names, in file order.</summary>
    public IReadOnlyList<string> Columns => _columns;

    /// <summary>The file written.</summary>
    public string Path { get; }

    private MetricsLog(string path, FileStream stream, string[] columns)
    {
        Path = path;
        _fullPath = System.IO.Path.GetFullPath(path);
        _stream = stream;
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n", AutoFlush = false };
        _columns = columns;
        _text = new string?[columns.Length];
        _numbers = new double[columns.Length];
        _isNumber = new bool[columns.Length];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Length; i++)
            if (!_index.TryAdd(columns[i], i)) throw new Errors.InvalidValueException(nameof(columns), $"MetricsLog: column '{columns[i]}' appears twice.");
    }

    /// <summary>Creates (or truncates) the file and writes the header.</summary>
    public static MetricsLog Create(string path, IReadOnlyList<string> columns)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        var log = new MetricsLog(path, stream, columns.ToArray());
        log._writer.WriteLine(string.Join(",", columns.Select(Escape)));
        log._writer.Flush();
        return log;
    }

    /// <summary>
    /// Reopens an existing file for appending, first cutting it back to <paramref name="length"/> bytes. The file must
    /// have the same columns and a row must end exactly there; anything else means the length belongs to another
    /// file (a checkpoint from another run), and the file is left untouched.
    /// </summary>
    public static MetricsLog Continue(string path, IReadOnlyList<string> columns, long length)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            if (length > stream.Length)
                throw new Errors.CorruptFileException(path, $"the checkpoint expects {length} bytes of metrics but the file has {stream.Length}.");
            string header = string.Join(",", columns.Select(Escape)) + "\n";
            var expected = new UTF8Encoding(false).GetBytes(header);
            var actual = new byte[Math.Min(expected.Length, stream.Length)];
            stream.ReadExactly(actual);
            if (!actual.AsSpan().SequenceEqual(expected))
                throw new Errors.CorruptFileException(path, "its columns are not this run's (the file belongs to another run).");
            if (length < expected.Length)
                throw new Errors.CorruptFileException(path, $"the checkpoint expects {length} bytes of metrics, fewer than the header's {expected.Length}.");
            stream.Seek(length - 1, SeekOrigin.Begin);
            if (stream.ReadByte() != '\n')
                throw new Errors.CorruptFileException(path, $"the checkpoint's length {length} does not end a row of the file (the checkpoint belongs to another run).");
            stream.SetLength(length);
            stream.Seek(0, SeekOrigin.End);
            return new MetricsLog(path, stream, columns.ToArray());
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Bytes written so far (what a checkpoint records).</summary>
    public long Length
    {
        get
        {
            _writer.Flush();
            return _stream.Length;
        }
    }

    /// <summary>The position of <paramref name="column"/>, for <see cref="Set(int, double)"/>; unknown columns are an error, since a silent typo would lose data.</summary>
    public int IndexOf(string column) =>
        _index.TryGetValue(column, out int i) ? i : throw new ArgumentException($"metrics: no column '{column}'", nameof(column));

    /// <summary>Sets a cell of the row being built.</summary>
    public void Set(string column, double value) => Set(IndexOf(column), value);

    /// <summary>Sets a text cell of the row being built.</summary>
    public void Set(string column, string value) => Set(IndexOf(column), value);

    /// <summary>Sets the cell of column <paramref name="index"/> of the row being built.</summary>
    public void Set(int index, double value)
    {
        _numbers[index] = value;
        _isNumber[index] = true;
        _text[index] = null;
    }

    /// <summary>Sets the text cell of column <paramref name="index"/> of the row being built.</summary>
    public void Set(int index, string value)
    {
        _text[index] = value;
        _isNumber[index] = false;
    }

    /// <summary>Writes the row built with the setters and starts an empty one.</summary>
    public void Commit()
    {
        IO.WriteFaults.Check(_fullPath);
        for (int i = 0; i < _columns.Length; i++)
        {
            if (i > 0) _writer.Write(',');
            if (_isNumber[i])
            {
                if (!_numbers[i].TryFormat(_format, out int n, "R", CultureInfo.InvariantCulture))
                    throw new InvalidOperationException("metrics: a number did not fit its format buffer.");
                _writer.Write(_format.AsSpan(0, n));
            }
            else if (_text[i] is { } v) _writer.Write(Escape(v));
            _text[i] = null;
            _isNumber[i] = false;
        }
        _writer.WriteLine();
        _writer.Flush();
    }

    private static string Escape(string s) =>
        s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _writer.Flush();
        _stream.Flush(flushToDisk: true);
        _writer.Dispose();
    }
}
