using System.Buffers;

namespace NormSharp.Distributed;

/// <summary>
/// The <see cref="ICommunicator"/> of a job started by Open MPI's <c>mpirun</c> (MPI_COMM_WORLD). Create
/// it once per process with <see cref="Initialize"/>; disposing it finalizes MPI. Errors come back as
/// <see cref="MpiException"/> rather than ending the process, so the caller can report them and
/// <see cref="Abort"/> the job.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private static MpiCommunicator? _instance;
    private bool _disposed;

    private MpiCommunicator(int rank, int size)
    {
        Rank = rank;
        Size = size;
    }

    /// <summary>True when this process was started by Open MPI's <c>mpirun</c> (its environment names the job's size).</summary>
    public static bool IsLaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>
    /// Loads Open MPI (from <paramref name="libraryPath"/>, or <c>libmpi.so.40</c> on the library path),
    /// initializes it (once per process) and returns the world communicator.
    /// </summary>
    /// <exception cref="MpiUnavailableException">Open MPI is not installed.</exception>
    public static MpiCommunicator Initialize(string? libraryPath = null)
    {
        if (_instance is { _disposed: false }) return _instance;
        MpiNative.Load(libraryPath);
        int flag;
        MpiNative.Check(MpiNative.Finalized(&flag), "MPI_Finalized");
        if (flag != 0) throw new MpiUnavailableException("MPI was already finalized in this process; it can be initialized only once.");
        MpiNative.Check(MpiNative.Initialized(&flag), "MPI_Initialized");
        if (flag == 0) MpiNative.Check(MpiNative.Init(null, null), "MPI_Init");
        MpiNative.Check(MpiNative.CommSetErrhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
        int rank, size;
        MpiNative.Check(MpiNative.CommRank(MpiNative.CommWorld, &rank), "MPI_Comm_rank");
        MpiNative.Check(MpiNative.CommSize(MpiNative.CommWorld, &size), "MPI_Comm_size");
        return _instance = new MpiCommunicator(rank, size);
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public void AllReduceSum(Span<float> data)
    {
        ThrowIfDisposed();
        if (data.IsEmpty) return;
        fixed (float* p = data)
            MpiNative.Check(MpiNative.Allreduce((void*)MpiNative.InPlace, p, data.Length, MpiNative.Float, MpiNative.OpSum, MpiNative.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc />
    public void AllReduceSum(Span<double> data)
    {
        ThrowIfDisposed();
        if (data.IsEmpty) return;
        fixed (double* p = data)
            MpiNative.Check(MpiNative.Allreduce((void*)MpiNative.InPlace, p, data.Length, MpiNative.Double, MpiNative.OpSum, MpiNative.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc />
    public ICommunicationRequest StartAllReduceSum(Memory<float> data)
    {
        ThrowIfDisposed();
        var pin = data.Pin();
        nint request;
        int code = MpiNative.Iallreduce((void*)MpiNative.InPlace, pin.Pointer, data.Length, MpiNative.Float, MpiNative.OpSum, MpiNative.CommWorld, &request);
        if (code != 0)
        {
            pin.Dispose();
            MpiNative.Check(code, "MPI_Iallreduce");
        }
        return new Request(request, pin);
    }

    /// <inheritdoc />
    public void Broadcast(Span<float> data, int root)
    {
        ThrowIfDisposed();
        CheckRoot(root);
        if (data.IsEmpty) return;
        fixed (float* p = data)
            MpiNative.Check(MpiNative.Bcast(p, data.Length, MpiNative.Float, root, MpiNative.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root)
    {
        ThrowIfDisposed();
        CheckRoot(root);
        if (data.IsEmpty) return;
        fixed (byte* p = data)
            MpiNative.Check(MpiNative.Bcast(p, data.Length, MpiNative.Byte, root, MpiNative.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc />
    public void AllGather(ReadOnlySpan<float> local, Span<float> all)
    {
        ThrowIfDisposed();
        if (all.Length != local.Length * Size)
            throw new ArgumentException($"AllGather: the result holds {all.Length} values, but {Size} ranks × {local.Length} are gathered.", nameof(all));
        if (local.IsEmpty) return;
        fixed (float* s = local)
        fixed (float* r = all)
            MpiNative.Check(MpiNative.Allgather(s, local.Length, MpiNative.Float, r, local.Length, MpiNative.Float, MpiNative.CommWorld), "MPI_Allgather");
    }

    /// <inheritdoc />
    public void AllGather(ReadOnlySpan<double> local, Span<double> all)
    {
        ThrowIfDisposed();
        if (all.Length != local.Length * Size)
            throw new ArgumentException($"AllGather: the result holds {all.Length} values, but {Size} ranks × {local.Length} are gathered.", nameof(all));
        if (local.IsEmpty) return;
        fixed (double* s = local)
        fixed (double* r = all)
            MpiNative.Check(MpiNative.Allgather(s, local.Length, MpiNative.Double, r, local.Length, MpiNative.Double, MpiNative.CommWorld), "MPI_Allgather");
    }

    /// <inheritdoc />
    public void Barrier()
    {
        ThrowIfDisposed();
        MpiNative.Check(MpiNative.Barrier(MpiNative.CommWorld), "MPI_Barrier");
    }

    /// <inheritdoc />
    public void Abort(int exitCode)
    {
        if (_disposed) Environment.Exit(exitCode);
        MpiNative.Abort(MpiNative.CommWorld, exitCode);
    }

    /// <summary>Finalizes MPI (every rank must reach this point).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        MpiNative.Check(MpiNative.FinalizeFn(), "MPI_Finalize");
    }

    private void CheckRoot(int root)
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"the root must be a rank from 0 to {Size - 1}.");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private sealed class Request(nint handle, MemoryHandle pin) : ICommunicationRequest
    {
        private nint _handle = handle;
        private MemoryHandle _pin = pin;
        private bool _done;

        public void Wait()
        {
            if (_done) return;
            nint h = _handle;
            int code = MpiNative.Wait(&h, null);
            Complete();
            MpiNative.Check(code, "MPI_Wait");
        }

        public bool Test()
        {
            if (_done) return true;
            nint h = _handle;
            int flag;
            int code = MpiNative.Test(&h, &flag, null);
            _handle = h;
            if (code != 0)
            {
                Complete();
                MpiNative.Check(code, "MPI_Test");
            }
            if (flag != 0) Complete();
            return flag != 0;
        }

        private void Complete()
        {
            _done = true;
            _pin.Dispose();
        }
    }
}
