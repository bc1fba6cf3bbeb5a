using NormSharp.Threading;

namespace NormSharp.Kernels.Simd;

/// <summary>A parallel loop body written once for every vector width.</summary>
internal interface IParallelWidthBody
{
    /// <summary>Processes items [start, end) as chunk <paramref name="chunk"/> with vectors of type <typeparamref name="TV"/>.</summary>
    void Execute<TV>(int chunk, int start, int end) where TV : unmanaged, IFloatVector<TV>;
}

/// <summary>
/// Runs an <see cref="IParallelWidthBody"/> through <see cref="ParallelFor"/> at the width active on the calling
/// thread (captured there, so a width forced by a test also holds on the pool's workers).
/// </summary>
internal static class WidthParallel
{
    /// <summary><see cref="ParallelFor.Run"/> with the body instantiated at the active width.</summary>
    public static void Run<TBody>(int count, int grain, ref TBody body) where TBody : struct, IParallelWidthBody =>
        RunChunks(count, ParallelFor.ChunkCount(count, grain), ref body);

    /// <summary><see cref="ParallelFor.RunChunks"/> with the body instantiated at the active width.</summary>
    public static void RunChunks<TBody>(int count, int chunks, ref TBody body) where TBody : struct, IParallelWidthBody
    {
        var adapter = new Adapter<TBody> { Body = body, Width = Widths.Active };
        ParallelFor.RunChunks(count, chunks, ref adapter);
    }

    private struct Adapter<TBody> : IParallelBody, IWidthGeneric where TBody : struct, IParallelWidthBody
    {
        public TBody Body;
        public VectorWidth Width;
        private int _chunk, _start, _end;

        public void Execute(int chunk, int start, int end)
        {
            var self = this;
            self._chunk = chunk;
            self._start = start;
            self._end = end;
            Widths.Dispatch(Width, ref self);
        }

        public void Run<TV>() where TV : unmanaged, IFloatVector<TV> => Body.Execute<TV>(_chunk, _start, _end);
    }
}
