namespace NormSharp.Threading;

/// <summary>
/// Work that <see cref="ParallelFor"/> splits into chunks. Implement it on a struct that carries the
/// kernel's arguments (pointers, sizes) so that a parallel call allocates nothing.
/// </summary>
public interface IParallelBody
{
    /// <summary>Processes items [<paramref name="start"/>, <paramref name="end"/>) as chunk number <paramref name="chunk"/>.</summary>
    void Execute(int chunk, int start, int end);
}
