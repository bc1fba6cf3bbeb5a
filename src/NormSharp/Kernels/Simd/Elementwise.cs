using System.Runtime.CompilerServices;
using NormSharp.Threading;

namespace NormSharp.Kernels.Simd;

/// <summary>
/// An element-by-element operation on up to four streams: <see cref="Apply"/> receives the vectors of the streams
/// named in <see cref="Reads"/> (the others are zero) and the engine stores those named in <see cref="Writes"/>.
/// The operation's constants live in its fields.
/// </summary>
internal interface IElementwise<TV> where TV : unmanaged, IFloatVector<TV>
{
    /// <summary>Bit k set: stream k is read.</summary>
    static abstract int Reads { get; }

    /// <summary>Bit k set: stream k is written.</summary>
    static abstract int Writes { get; }

    /// <summary>Transforms one vector of each stream in place.</summary>
    void Apply(ref TV s0, ref TV s1, ref TV s2, ref TV s3);
}

/// <summary>
/// Runs an <see cref="IElementwise{TV}"/> over n elements: whole vectors, then the remainder (fewer than a vector)
/// through the same <see cref="IElementwise{TV}.Apply"/> on a copy padded with zeros, of which only the valid part
/// is written back. Each element's result depends only on its own inputs, so any split gives the same bits.
/// </summary>
internal static unsafe class Elementwise
{
    /// <summary>Elements per parallel chunk: below this a second thread costs more than it saves.</summary>
    public const int Grain = 32 * 1024;

    /// <summary>Runs <paramref name="op"/> over [0, n) on the calling thread.</summary>
    /// <remarks>Compiled fully optimized from the first call: a kernel loop run through tiering's first tiers is many times slower.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TV, TOp>(ref TOp op, float* s0, float* s1, float* s2, float* s3, nint n)
        where TV : unmanaged, IFloatVector<TV>
        where TOp : struct, IElementwise<TV>
    {
        int w = TV.Count;
        int reads = TOp.Reads, writes = TOp.Writes;
        nint i = 0;
        for (; i <= n - w; i += w)
        {
            TV v0 = (reads & 1) != 0 ? TV.Load(s0 + i) : TV.Zero;
            TV v1 = (reads & 2) != 0 ? TV.Load(s1 + i) : TV.Zero;
            TV v2 = (reads & 4) != 0 ? TV.Load(s2 + i) : TV.Zero;
            TV v3 = (reads & 8) != 0 ? TV.Load(s3 + i) : TV.Zero;
            op.Apply(ref v0, ref v1, ref v2, ref v3);
            if ((writes & 1) != 0) TV.Store(v0, s0 + i);
            if ((writes & 2) != 0) TV.Store(v1, s1 + i);
            if ((writes & 4) != 0) TV.Store(v2, s2 + i);
            if ((writes & 8) != 0) TV.Store(v3, s3 + i);
        }
        if (i < n) Remainder<TV, TOp>(ref op, s0 + i, s1 + i, s2 + i, s3 + i, (int)(n - i));
    }

    /// <summary>Runs <paramref name="op"/> over [0, n), split over the worker pool when n is large.</summary>
    public static void RunParallel<TV, TOp>(ref TOp op, float* s0, float* s1, float* s2, float* s3, nint n)
        where TV : unmanaged, IFloatVector<TV>
        where TOp : struct, IElementwise<TV>
    {
        if (n < 2 * Grain || n > int.MaxValue)
        {
            Run<TV, TOp>(ref op, s0, s1, s2, s3, n);
            return;
        }
        var body = new Body<TV, TOp> { Op = op, S0 = s0, S1 = s1, S2 = s2, S3 = s3 };
        ParallelFor.Run((int)n, Grain, ref body);
    }

    private struct Body<TV, TOp> : IParallelBody
        where TV : unmanaged, IFloatVector<TV>
        where TOp : struct, IElementwise<TV>
    {
        public TOp Op;
        public float* S0, S1, S2, S3;

        public void Execute(int chunk, int start, int end)
        {
            var op = Op;
            Run<TV, TOp>(ref op, S0 + start, S1 + start, S2 + start, S3 + start, end - start);
        }
    }

    private static void Remainder<TV, TOp>(ref TOp op, float* s0, float* s1, float* s2, float* s3, int count)
        where TV : unmanaged, IFloatVector<TV>
        where TOp : struct, IElementwise<TV>
    {
        float* buffer = stackalloc float[4 * 16];
        new Span<float>(buffer, 4 * 16).Clear();
        float* b0 = buffer, b1 = buffer + 16, b2 = buffer + 32, b3 = buffer + 48;
        int reads = TOp.Reads, writes = TOp.Writes;
        for (int j = 0; j < count; j++)
        {
            if ((reads & 1) != 0) b0[j] = s0[j];
            if ((reads & 2) != 0) b1[j] = s1[j];
            if ((reads & 4) != 0) b2[j] = s2[j];
            if ((reads & 8) != 0) b3[j] = s3[j];
        }
        TV v0 = TV.Load(b0), v1 = TV.Load(b1), v2 = TV.Load(b2), v3 = TV.Load(b3);
        op.Apply(ref v0, ref v1, ref v2, ref v3);
        TV.Store(v0, b0);
        TV.Store(v1, b1);
        TV.Store(v2, b2);
        TV.Store(v3, b3);
        for (int j = 0; j < count; j++)
        {
            if ((writes & 1) != 0) s0[j] = b0[j];
            if ((writes & 2) != 0) s1[j] = b1[j];
            if ((writes & 4) != 0) s2[j] = b2[j];
            if ((writes & 8) != 0) s3[j] = b3[j];
        }
    }
}
