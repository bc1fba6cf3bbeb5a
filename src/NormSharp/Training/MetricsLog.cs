using System.Globalization;
using System.Text;

namespace NormSharp.Training;

/// <summary>
/// Appends per-step and per-epoch rows to a CSV file (<c>metrics.csv</c>). Every row is flushed, so a
/// killed run leaves every finished row; on resume the file is cut back to the length recorded in the
/// checkpoint, so the resumed run's rows follow on without duplicates.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly FileStream _stream;
    private readonly StreamWriter _writer;
    private readonly string[] _columns;
    private readonly string?[] _row;
    private readonly Dictionary<string, int> _index;
    private bool _disposed;

    /// <summary>The column names, in file order.</summary>
    public IReadOnlyList<string> Columns => _columns;

    /// <summary>The file written.</summary>
    public string Path { get; }

    private MetricsLog(string path, FileStream stream, string[] columns)
    {
        Path = path;
        _stream = stream;
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n", AutoFlush = false };
        _columns = columns;
        _row = new string?[columns.Length];
        _index = columns.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => t.i);
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

    /// <summary>Reopens an existing file for appending, first cutting it back to <paramref name="length"/> bytes.</summary>
    public static MetricsLog Continue(string path, IReadOnlyList<string> columns, long length)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (length > stream.Length)
            throw new Errors.CorruptFileException(path, $"the checkpoint expects {length} bytes of metrics but the file has {stream.Length}.");
        stream.SetLength(length);
        stream.Seek(0, SeekOrigin.End);
        return new MetricsLog(path, stream, columns.ToArray());
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

    /// <summary>Sets a cell of the row being built; unknown columns are an error, since a silent typo would lose data.</summary>
    public void Set(string column, double value) => Set(column, value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>Sets a text cell of the row being built.</summary>
    public void Set(string column, string value)
    {
        if (!_index.TryGetValue(column, out int i)) throw new ArgumentException($"metrics: no column '{column}'", nameof(column));
        _row[i] = value;
    }

    /// <summary>Writes the row built with <see cref="Set(string, double)"/> and starts an empty one.</summary>
    public void Commit()
    {
        for (int i = 0; i < _row.Length; i++)
        {
            if (i > 0) _writer.Write(',');
            if (_row[i] is { } v) _writer.Write(Escape(v));
            _row[i] = null;
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
